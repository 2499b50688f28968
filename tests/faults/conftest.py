import os
import shutil
from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import FakeOpenAI, fake_openai_server


@pytest.fixture(autouse=True)
def _redis_server_installed() -> None:
    """The fault suite runs a Redis of its own; CI (INFYN_REQUIRE_REDIS) must have one."""
    if shutil.which("redis-server") is None:
        if os.environ.get("INFYN_REQUIRE_REDIS"):
            pytest.fail("redis-server is required (INFYN_REQUIRE_REDIS) but not installed")
        pytest.skip("redis-server is not installed")


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    """The model server: a fake that streams each reply a word at a time, 10 ms apart, so
    that chats are in flight whenever a fault strikes."""
    with fake_openai_server() as server:
        server.default_reply = "Noted, and I will remember it for next time we talk."
        server.token_delay = 0.01
        yield server
