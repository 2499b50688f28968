"""Memory's background jobs: fact extraction and summaries, off the request path.

- ``outbox``: the durable job rows, written with the messages they are about, their
  hand-over to this process's runner after commit, and the sweep that sends stale ones again;
- ``work``: what running a batch of jobs does (it calls memory's services);
- ``runners``: where jobs run (Celery, a thread of this process, or inline), one chosen per
  process at start-up;
- ``inprocess``: the thread of the embedded mode.

Imports flow one way, each module below those that import it: outbox (imported by
memory.services), then inprocess, then work (which imports memory.services), then
memory.tasks, then runners, which memory's AppConfig.ready() installs.
"""
