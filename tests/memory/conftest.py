from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

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
