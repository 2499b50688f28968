"""Where Celery's autodiscovery looks for an app's tasks; they live in memory.jobs.tasks."""

from memory.jobs.tasks import own_indexes_sync_task, run_outbox_jobs_task, sweep_outbox_task

__all__ = ["own_indexes_sync_task", "run_outbox_jobs_task", "sweep_outbox_task"]
