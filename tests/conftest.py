import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from asgiref.sync import SyncToAsync
from django.db import connections
from django.test import AsyncClient, Client
from rest_framework.test import APIClient

from infyn.lib.broker import broker_outage
from infyn.lib.redis_cache import redis_outage
from memory.services import ImportResult, MessageInput, messages_import
from tenants.models import EndUser, Vendor
from tenants.services import api_key_create
from tests.factories import VendorFactory
from tests.openapi import check_test_client_response

REDIS_TEST_URL = os.environ.get("INFYN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True)
def _background_jobs_inline(settings: Any) -> None:
    """Memory's background jobs run at commit in tests, so a test sees their results at once
    (the embedded default runs them in a thread; tests of that mode say so)."""
    settings.MEMORY_BACKGROUND_JOBS = "inline"


@pytest.fixture(autouse=True)
def _responses_match_the_openapi_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every response a test gets from the API is checked against the OpenAPI schema."""
    sync_request, async_request = Client.request, AsyncClient.request

    def checked(self: Client, **request: Any) -> Any:
        response = sync_request(self, **request)
        check_test_client_response(request["PATH_INFO"], request["REQUEST_METHOD"], response)
        return response

    async def async_checked(self: AsyncClient, **request: Any) -> Any:
        response = await async_request(self, **request)
        check_test_client_response(request["path"], request["method"], response)
        return response

    monkeypatch.setattr(Client, "request", checked)
    monkeypatch.setattr(AsyncClient, "request", async_checked)


@pytest.fixture(autouse=True)
def _no_outage_carried_over() -> Iterator[None]:
    """A test that takes Redis or the broker down leaves the process's outage windows open;
    the next test starts with both closed."""
    yield
    redis_outage.end()
    broker_outage.end()


@pytest.fixture(autouse=True)
def _close_worker_thread_connections() -> Iterator[None]:
    """Views run database work in asgiref's worker thread; its connection must not outlive
    the test, or the test database cannot be flushed or dropped."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


# When the turns the `say` fixture imports start.
START = datetime.fromisoformat("2024-03-01T10:00:00+00:00")


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
def vendor(db: None) -> Vendor:
    return VendorFactory()


@pytest.fixture
def other_vendor(db: None) -> Vendor:
    return VendorFactory()


@pytest.fixture
def raw_key_for(db: None) -> Callable[..., str]:
    def make(vendor: Vendor, **kwargs: object) -> str:
        _api_key, raw_key = api_key_create(vendor=vendor, name="test", actor="test", **kwargs)
        return raw_key

    return make


@pytest.fixture
def client_for(raw_key_for: Callable[..., str]) -> Callable[..., APIClient]:
    """An API client authenticated with a fresh key of the given vendor."""

    def make(vendor: Vendor, **kwargs: object) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key_for(vendor, **kwargs)}")
        return client

    return make


@pytest.fixture
def api(vendor: Vendor, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(vendor)


@pytest.fixture
def redis_url() -> str:
    """The test Redis, flushed; skipped where none runs unless INFYN_REQUIRE_REDIS is set (CI)."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("INFYN_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required (INFYN_REQUIRE_REDIS) but {REDIS_TEST_URL} is down.")
        pytest.skip(f"no Redis at {REDIS_TEST_URL}")
    client.flushdb()
    return REDIS_TEST_URL
