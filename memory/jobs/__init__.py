"""Memory's background jobs: fact extraction and summaries, off the request path.

- ``work``: what running a batch of jobs does (it calls memory's services);
- ``tasks``: the Celery tasks, thin wrappers over work and the outbox sweep;
- ``runners``: where jobs run (Celery, a thread of this process, or inline), one chosen per
  process at start-up;
- ``inprocess``: the thread of the embedded mode.

The durable job rows themselves, their hand-over to the installed runner after commit and
the sweep that sends stale ones again are ``memory.outbox``, below memory.services (which
writes jobs with the messages they are about). This package is above memory.services (its
work calls them): inprocess, then work, then tasks (Celery's), then runners, which memory's
AppConfig.ready() installs.
"""
