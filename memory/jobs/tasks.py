"""Celery tasks for memory: thin wrappers; the work, and its failure handling, is in
memory.jobs.work and memory.outbox.

Each keeps the name it had when it was defined in ``memory.tasks`` (where Celery's
autodiscovery still finds it): queued messages and django-celery-beat's stored schedules
name tasks by that string.
"""

from celery import shared_task
from django.conf import settings

from infyn.lib.broker import broker_lost_its_queues
from memory.indexes import own_indexes_sync
from memory.jobs.work import outbox_jobs_run
from memory.outbox import outbox_sweep
from memory.pruning import prune_all, vendor_prune
from tenants.models import Vendor


# Nothing reads their results; storing them would make every send subscribe to a result key.
@shared_task(
    name="memory.tasks.run_outbox_jobs_task", queue="memory", acks_late=True, ignore_result=True
)
def run_outbox_jobs_task(job_ids: list[int]) -> None:
    # Idempotent: a job runs only while pending, so a redelivered message does nothing twice.
    outbox_jobs_run(job_ids=job_ids)


@shared_task(name="memory.tasks.sweep_outbox_task", queue="maintenance", ignore_result=True)
def sweep_outbox_task() -> int:
    return outbox_sweep(
        older_than_seconds=settings.MEMORY_OUTBOX_SWEEP_AFTER_SECONDS,
        broker_lost_queues=broker_lost_its_queues(),
    )


@shared_task(name="memory.tasks.own_indexes_sync_task", queue="maintenance", ignore_result=True)
def own_indexes_sync_task() -> None:
    # Skips when another sync holds the lock: a long build can outlast the beat interval.
    own_indexes_sync()


@shared_task(name="memory.tasks.prune_task", queue="maintenance", ignore_result=True)
def prune_task() -> None:
    # Idempotent and resumable: a run that dies is continued by the next one.
    prune_all(actor="schedule")


@shared_task(name="memory.tasks.prune_vendor_task", queue="maintenance", ignore_result=True)
def prune_vendor_task(vendor_id: str, actor: str) -> None:
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is not None:
        vendor_prune(vendor=vendor, actor=actor)
