"""Where background jobs run, one way per process, chosen at start-up from
MEMORY_BACKGROUND_JOBS (memory's AppConfig.ready):

- ``celery``: published to the broker, for the Celery workers (production, with Redis);
- ``thread``: a daemon thread of this process (the embedded mode, with no broker);
- ``inline``: at once, in the process that commits or sweeps (tests, one-off commands).
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections

from infyn.lib.broker import BROKER_CONNECTION_ERRORS, broker_outage
from memory.jobs import inprocess
from memory.jobs.tasks import run_outbox_jobs_task
from memory.jobs.work import outbox_jobs_run
from memory.outbox import Dispatch, JobRunner, RunJobs, runner_install

logger = logging.getLogger(__name__)

# Publishing to the broker takes a few milliseconds that a chat request would otherwise spend
# before its first token; a thread does it instead. Jobs are durable rows either way: one
# that never reaches the broker is picked up by the sweeper.
_publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="infyn-outbox")


class CeleryRunner:
    """Jobs go to the broker, for the workers. ``in_background``: a commit's new jobs are
    published from the publisher thread (at once, in the committing thread, otherwise)."""

    def __init__(self, task: "Task[[list[int]], None]", *, in_background: bool = True) -> None:
        self._task = task
        self._in_background = in_background

    def send(self, job_ids: list[int]) -> bool:
        if broker_outage.active():  # it failed a moment ago: do not wait on it again
            return False
        try:
            self._task.delay(job_ids)
        except BROKER_CONNECTION_ERRORS as exc:
            broker_outage.begin(exc)
            return False
        except Exception:  # a message that cannot be sent (it does not encode): not an outage
            logger.exception("memory: publishing outbox jobs %s failed", job_ids[:5])
            return False
        return True

    def available(self) -> bool:
        return not broker_outage.active()

    def after_commit(self, job_ids: list[int], dispatch: Dispatch) -> None:
        if self._in_background:
            _publisher.submit(_publish, job_ids, dispatch)
        else:
            dispatch(job_ids)


def _publish(job_ids: list[int], dispatch: Dispatch) -> None:
    # A failed publish marks its jobs in the database: with a connection of the pool's, given
    # back at once (kept, it would be idle for good, and broken after a database restart).
    close_old_connections()
    try:
        dispatch(job_ids)
    except Exception:  # nothing waits on this thread: say so here, the sweeper does the rest
        logger.exception("memory: publishing %d outbox jobs failed", len(job_ids))
    finally:
        close_old_connections()


class ThreadRunner:
    """Jobs run in this process's background thread (memory.jobs.inprocess)."""

    def __init__(self, run_jobs: RunJobs) -> None:
        self._run_jobs = run_jobs

    def send(self, job_ids: list[int]) -> bool:
        inprocess.submit(job_ids, run_jobs=self._run_jobs)
        return True

    def available(self) -> bool:
        return True

    def after_commit(self, job_ids: list[int], dispatch: Dispatch) -> None:
        dispatch(job_ids)  # a queue put: nothing to wait for


class InlineRunner:
    """Jobs run at once, in the caller: at commit, or in the sweep that sends them."""

    def __init__(self, run_jobs: RunJobs) -> None:
        self._run_jobs = run_jobs

    def send(self, job_ids: list[int]) -> bool:
        try:
            self._run_jobs(job_ids=job_ids)
        except Exception:  # the data is committed; the jobs stay pending for the sweep
            logger.exception("memory: inline jobs %s failed", job_ids[:5])
        return True

    def available(self) -> bool:
        return True

    def after_commit(self, job_ids: list[int], dispatch: Dispatch) -> None:
        dispatch(job_ids)


def runner_for(mode: str) -> JobRunner:
    """The runner that MEMORY_BACKGROUND_JOBS names, running memory's jobs."""
    if mode == "celery":
        return CeleryRunner(run_outbox_jobs_task)
    if mode == "thread":
        return ThreadRunner(outbox_jobs_run)
    if mode == "inline":
        return InlineRunner(outbox_jobs_run)
    raise ImproperlyConfigured(f"Unknown background jobs mode {mode!r}: celery, thread or inline.")


def runner_use(mode: str) -> None:
    """Run this process's background jobs the ``mode`` way, from now on."""
    runner_install(runner_for(mode))


def runner_follows_its_setting(*, setting: str, value: Any, **kwargs: Any) -> None:
    """A setting_changed receiver: a test that switches MEMORY_BACKGROUND_JOBS (the settings
    fixture, override_settings) switches the runner with it, and back."""
    if setting == "MEMORY_BACKGROUND_JOBS" and isinstance(value, str):
        runner_use(value)
