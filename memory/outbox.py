"""The outbox: a durable row per background job, written in the transaction of the data it
is about, and handed after commit to the runner this process uses (memory.jobs.runners).

The runner only carries a job to where it runs; the row is the record. A hand-over that
fails (the broker is down) leaves the row pending and marked as never enqueued, and the
sweep sends it again.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from memory import extraction
from memory.extraction_llm import LLM_EXTRACTOR_VERSION
from memory.models import JobKind, JobStatus, Message, OutboxJob, Role
from tenants.models import EndUser

logger = logging.getLogger(__name__)

OUTBOX_BATCH = 256
SWEEP_PAGE = 1000


class RunJobs(Protocol):
    """Runs a batch of outbox jobs: memory.jobs.work.outbox_jobs_run."""

    def __call__(self, *, job_ids: Sequence[int]) -> None: ...


# Hands jobs over to the runner: outbox_dispatch, for jobs marked as enqueued.
Dispatch = Callable[[list[int]], None]


class JobRunner(Protocol):
    """Where this process's background jobs run."""

    def send(self, job_ids: list[int]) -> bool:
        """Hand one batch over; False when it was not taken (the sweep sends it again)."""
        ...

    def available(self) -> bool:
        """Whether ``send`` may take jobs now: False while the broker is known to be down."""
        ...

    def after_commit(self, job_ids: list[int], dispatch: Dispatch) -> None:
        """Hand a commit's new jobs over through ``dispatch``, where the committing request
        waits least for it."""
        ...


_runner: JobRunner | None = None


def runner_install(runner: JobRunner) -> JobRunner | None:
    """Make ``runner`` this process's; returns the one it replaces (a test puts it back).

    memory's AppConfig.ready() installs the one MEMORY_BACKGROUND_JOBS names."""
    global _runner
    previous, _runner = _runner, runner
    return previous


def runner_installed() -> JobRunner:
    if _runner is None:
        raise RuntimeError("No background job runner: memory's AppConfig.ready() installs one.")
    return _runner


def extractors_version() -> str:
    """Names the extractors in use: it is part of each extraction job's key, so a message is
    extracted once per extractor version."""
    if settings.MEMORY_LLM_EXTRACTION:
        return f"{extraction.RULE_EXTRACTOR_VERSION}+{LLM_EXTRACTOR_VERSION}"
    return extraction.RULE_EXTRACTOR_VERSION


def _needs_extraction(message: Message) -> bool:
    # Facts are about people: the end user, or any named human speaker of an import.
    return message.role == Role.USER or bool(message.name)


def outbox_jobs_for_messages(*, end_user: EndUser, created: Sequence[Message]) -> list[OutboxJob]:
    """Outbox rows for the new messages' background work, dispatched after commit."""
    jobs = [
        OutboxJob(
            end_user=end_user,
            kind=JobKind.EXTRACT_FACTS,
            key=f"{message.pk}:{extractors_version()}",
            payload={"message_id": message.pk},
        )
        for message in created
        if _needs_extraction(message)
    ]
    last_by_thread: dict[object, Message] = {}
    for message in created:
        last_by_thread[message.thread_id] = message
    jobs += [
        OutboxJob(
            end_user=end_user,
            kind=JobKind.UPDATE_SUMMARY,
            key=f"{thread_id}:{message.pk}",
            payload={"thread_id": str(thread_id)},
        )
        for thread_id, message in last_by_thread.items()
    ]
    # They are handed over right after commit, so they are marked enqueued now: that saves
    # the request a round trip, and a dispatch that fails is retried by the sweeper anyway.
    now = timezone.now()
    for job in jobs:
        job.enqueued_at = now
    # Keys name new messages, so they cannot collide; a plain insert returns the ids.
    jobs = OutboxJob.objects.bulk_create(jobs)
    job_ids = [job.pk for job in jobs]
    transaction.on_commit(lambda: runner_installed().after_commit(job_ids, _dispatch_marked))
    return jobs


def _dispatch_marked(job_ids: list[int]) -> None:
    outbox_dispatch(job_ids=job_ids, marked=True)


def outbox_dispatch(*, job_ids: Sequence[int], marked: bool = False) -> int:
    """Hand jobs to the runner in batches, and return how many it took. A broker outage is
    logged, not raised: the data is committed already. Jobs the broker did not take are
    marked as never enqueued, and the sweeper sends them as soon as it runs again.
    ``marked``: their ``enqueued_at`` is set."""
    if not job_ids:
        return 0
    if not marked:
        OutboxJob.objects.filter(pk__in=job_ids).update(enqueued_at=timezone.now())
    runner = runner_installed()
    unsent: list[int] = []
    for start in range(0, len(job_ids), OUTBOX_BATCH):
        batch = list(job_ids[start : start + OUTBOX_BATCH])
        if not runner.send(batch):
            unsent += batch
    if unsent:
        OutboxJob.objects.filter(pk__in=unsent, status=JobStatus.PENDING).update(enqueued_at=None)
        logger.warning(
            "memory: the broker did not take %d outbox jobs; they wait for the sweeper", len(unsent)
        )
    return len(job_ids) - len(unsent)


def outbox_sweep(*, older_than_seconds: int, broker_lost_queues: bool = False) -> int:
    """Send the pending jobs that are due again, and return how many the runner took.

    Due: jobs the broker never took (a publish that failed: at once), and jobs sent longer
    ago than ``older_than_seconds``, doubled per failed attempt (a worker that died, or a job
    whose retry waited out its backoff). ``broker_lost_queues``: the broker came back empty,
    so every pending job is due at once. Pages through the pending jobs oldest first, so a
    backlog of any size is sent in one sweep, unless the broker goes down meanwhile: the
    rest then stay pending, due, for a later sweep.
    """
    runner = runner_installed()
    now = timezone.now()
    stale = now - timedelta(seconds=older_than_seconds)
    pending = OutboxJob.objects.filter(status=JobStatus.PENDING).order_by("created_at", "pk")
    if not broker_lost_queues:
        pending = pending.filter(Q(enqueued_at__isnull=True) | Q(created_at__lt=stale))
    sent = 0
    after: tuple[datetime, int] | None = None
    while runner.available():
        page = pending
        if after is not None:
            page = page.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], pk__gt=after[1]))
        rows = list(page.values_list("pk", "created_at", "attempts", "enqueued_at")[:SWEEP_PAGE])
        if not rows:
            break
        due = [
            pk
            for pk, _created_at, attempts, enqueued_at in rows
            if broker_lost_queues
            or enqueued_at is None
            or enqueued_at <= now - timedelta(seconds=older_than_seconds * 2**attempts)
        ]
        sent += outbox_dispatch(job_ids=due)
        after = (rows[-1][1], rows[-1][0])
    return sent
