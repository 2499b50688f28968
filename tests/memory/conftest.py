from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from memory.jobs.runners import CeleryRunner
from memory.jobs.tasks import run_outbox_jobs_task
from memory.outbox import runner_install
from memory.services import ImportResult, MessageInput, messages_import
from tenants.models import EndUser, Vendor
from tests.factories import EndUserFactory

START = datetime.fromisoformat("2024-03-01T10:00:00+00:00")


@pytest.fixture
def end_user(vendor: Vendor) -> EndUser:
    return EndUserFactory(vendor=vendor, external_id="alice")


@pytest.fixture
def other_end_user(vendor: Vendor) -> EndUser:
    return EndUserFactory(vendor=vendor, external_id="bob")


@pytest.fixture
def say() -> Callable[..., ImportResult]:
    """Import user turns into a thread, a minute apart, through the real write path."""

    def import_lines(
        end_user: EndUser, lines: list[str], *, thread: str = "t1", start: datetime = START
    ) -> ImportResult:
        return messages_import(
            end_user=end_user,
            messages=[
                MessageInput(
                    thread_external_id=thread,
                    role="user",
                    content=line,
                    external_id=f"{thread}-{index}",
                    created_at=start + timedelta(minutes=index),
                )
                for index, line in enumerate(lines)
            ],
        )

    return import_lines


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
