"""Background jobs in a thread of the web process, for the embedded mode (no broker).

Without Redis there is no Celery worker. Running each job inline at commit would make every
chat request wait for fact extraction and summaries, so jobs go to one daemon thread per
process instead, which does what a worker and beat would: it runs batches from the durable
outbox, and every INFYN_OUTBOX_SWEEP_INTERVAL_SECONDS re-runs jobs left pending (by a crash, a
database outage, or a process that exited with work queued), as the beat sweeper does in
production. While idle, it also
builds the partial indexes of end users with long histories, as beat's own-index sync does,
and every INFYN_PRUNE_INTERVAL_SECONDS applies the retention policies, as beat's prune does
(the first run comes one interval after start, as beat's does).
"""

import logging
import queue
import threading
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import close_old_connections

from memory.indexes import own_indexes_sync
from memory.outbox import RunJobs, outbox_sweep
from memory.pruning import prune_all

logger = logging.getLogger(__name__)

_OWN_INDEXES_EVERY_SECONDS = 600.0

# Each batch comes with what runs it: this module sits below the jobs' work, which uses
# memory's services, and the runner that submits a batch passes it in.
_queue: "queue.Queue[tuple[RunJobs, list[int]]]" = queue.Queue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def submit(job_ids: Sequence[int], *, run_jobs: RunJobs) -> None:
    """Have ``run_jobs`` run these outbox jobs soon, in this process's background thread."""
    _ensure_started()
    _queue.put((run_jobs, list(job_ids)))


def wait_idle(timeout: float = 60.0) -> bool:
    """Block until every submitted batch has run (tests, benchmarks); False on timeout."""
    done = threading.Event()

    def mark() -> None:
        _queue.join()
        done.set()

    threading.Thread(target=mark, daemon=True).start()
    return done.wait(timeout)


def worker_thread_name() -> str | None:
    """The background thread's name while it runs (health checks, tests)."""
    return _thread.name if _thread is not None and _thread.is_alive() else None


def _ensure_started() -> None:
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    with _start_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="infyn-jobs", daemon=True)
            _thread.start()


def _run() -> None:
    last_sweep = last_own_indexes = last_prune = time.monotonic()
    while True:
        sweep_every = float(settings.MEMORY_OUTBOX_SWEEP_INTERVAL_SECONDS)
        try:
            batch: tuple[RunJobs, list[int]] | None = _queue.get(timeout=sweep_every)
        except queue.Empty:
            batch = None
        if batch is not None:
            run_jobs, job_ids = batch
            try:
                close_old_connections()
                run_jobs(job_ids=job_ids)
            except Exception:  # the jobs stay pending; the sweep runs them again
                logger.exception("memory: in-process jobs %s failed", job_ids[:5])
            finally:
                close_old_connections()
                _queue.task_done()
        # By the clock, not only when idle: a steady stream of new jobs must not keep the
        # ones that failed (the database was down, say) waiting for a quiet minute.
        now = time.monotonic()
        if now - last_sweep >= sweep_every:
            _sweep()
            last_sweep = now
        if batch is None and now - last_own_indexes >= _OWN_INDEXES_EVERY_SECONDS:
            _own_indexes_sync()
            last_own_indexes = now
        if batch is None and now - last_prune >= settings.MEMORY_PRUNE_INTERVAL_SECONDS:
            _prune()
            last_prune = now


def _sweep() -> None:
    try:
        close_old_connections()
        # outbox_sweep enqueues through outbox_dispatch, which lands back in this queue.
        outbox_sweep(older_than_seconds=settings.MEMORY_OUTBOX_SWEEP_AFTER_SECONDS)
    except Exception:
        logger.exception("memory: in-process outbox sweep failed")
    finally:
        close_old_connections()


def _own_indexes_sync() -> None:
    try:
        close_old_connections()
        own_indexes_sync()
    except Exception:
        logger.exception("memory: in-process own-index sync failed")
    finally:
        close_old_connections()


def _prune() -> None:
    try:
        close_old_connections()
        prune_all(actor="schedule")
    except Exception:  # resumable: the next interval goes on where this one stopped
        logger.exception("memory: in-process prune failed")
    finally:
        close_old_connections()
