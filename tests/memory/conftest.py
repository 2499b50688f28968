from collections.abc import Iterator

import pytest

from memory.jobs.runners import CeleryRunner
from memory.jobs.tasks import run_outbox_jobs_task
from memory.outbox import runner_install
from tenants.models import EndUser, Vendor
from tests.factories import EndUserFactory


@pytest.fixture
def end_user(vendor: Vendor) -> EndUser:
    return EndUserFactory(vendor=vendor, external_id="alice")


@pytest.fixture
def other_end_user(vendor: Vendor) -> EndUser:
    return EndUserFactory(vendor=vendor, external_id="bob")


@pytest.fixture
def celery_runner() -> Iterator[CeleryRunner]:
    """Background jobs go through Celery's publish, as in production, but from the committing
    thread: a test sees each publish's outcome as soon as its write returns. Celery runs the
    task eagerly in tests; a test takes the broker down by replacing the task's ``delay``."""
    runner = CeleryRunner(run_outbox_jobs_task, in_background=False)
    previous = runner_install(runner)
    yield runner
    assert previous is not None
    runner_install(previous)
