"""Chats and the database pool, on a real daphne: more chats at once than pooled connections.

Each daphne here has a pool of two connections. Before chat gave its connections back early,
a streamed reply held one for as long as it streamed, and a chat building its prompt held one
while it waited for a second: a dozen concurrent chats ran the pool dry and answered 500.
"""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from django.db import connection, transaction

from memory.models import Message, Role
from tenants.models import Vendor
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.infyn.servers import daphne_server, fake_backend_env

pytestmark = pytest.mark.django_db(transaction=True)

POOL = "2"


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        # Each reply streams for about a second, so the chats overlap.
        server.default_reply = " ".join(["word"] * 20)
        server.token_delay = 0.05
        yield server


@contextmanager
def chat_server(upstream: FakeOpenAI, **env: str) -> Iterator[str]:
    with daphne_server(
        fake_backend_env(upstream) | {"DATABASE_POOL_MAX_SIZE": POOL} | env
    ) as base_url:
        yield base_url


def chat_body(user: str) -> dict[str, object]:
    return {"user": user, "stream": True, "messages": [{"role": "user", "content": "Hi there"}]}


async def stream_chats(base_url: str, key: str, users: list[str]) -> list[tuple[int, str]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one(user: str) -> tuple[int, str]:
            response = await client.post(
                "/v1/chat/completions",
                json=chat_body(user),
                headers={"Authorization": f"Bearer {key}"},
            )
            return response.status_code, response.text

        return await asyncio.gather(*(one(user) for user in users))


def test_more_concurrent_streaming_chats_than_pooled_connections_all_complete(
    vendor: Vendor, raw_key_for: Callable[..., str], upstream: FakeOpenAI
) -> None:
    key = raw_key_for(vendor)
    users = [f"user-{n}" for n in range(12)]

    with chat_server(upstream) as base_url:
        results = asyncio.run(stream_chats(base_url, key, users))
        after = httpx.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {key}"})

    assert [status for status, _body in results] == [200] * len(users)
    assert all(body.rstrip().endswith("data: [DONE]") for _status, body in results)
    stored = Message.objects.filter(end_user__vendor=vendor)
    assert stored.filter(role=Role.USER).count() == len(users)
    assert stored.filter(role=Role.ASSISTANT).count() == len(users)
    assert after.status_code == 200  # and the process is healthy afterwards


def test_a_pool_that_runs_dry_answers_503_overloaded_at_once_then_recovers(
    vendor: Vendor, raw_key_for: Callable[..., str], upstream: FakeOpenAI
) -> None:
    key = raw_key_for(vendor)
    headers = {"Authorization": f"Bearer {key}"}
    upstream.token_delay = 0
    # Background jobs at commit, in the chat's own store thread: a background thread of their
    # own would hold a third connection, stuck on the same lock.
    with chat_server(
        upstream, DATABASE_POOL_TIMEOUT="0.5", INFYN_BACKGROUND_JOBS="inline"
    ) as base_url:
        httpx.post(f"{base_url}/v1/chat/completions", json=chat_body("warm"), headers=headers)
        blocked: list[httpx.Response] = []

        def chat(user: str) -> None:
            url = f"{base_url}/v1/chat/completions"
            blocked.append(httpx.post(url, json=chat_body(user), headers=headers, timeout=60))

        # given both pooled connections stuck in queries: a lock held here stalls the chat's
        # read of the messages table (its context) and its insert (storing the message)
        with transaction.atomic():
            connection.cursor().execute("LOCK TABLE memory_message IN ACCESS EXCLUSIVE MODE")
            stuck = threading.Thread(target=chat, args=("stuck",))
            stuck.start()
            time.sleep(2)

            # when one more request needs a connection
            started = time.monotonic()
            refused = httpx.get(f"{base_url}/v1/me", headers=headers, timeout=30)
            waited = time.monotonic() - started

        # then it is refused with a 503 as soon as the pool gives up, not a 500 or a hang
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "overloaded"
        assert refused.headers["Retry-After"]
        assert waited < 5
        # and once the database moves again, the stuck chat finishes and the server recovers
        stuck.join(60)
        recovered = httpx.get(f"{base_url}/v1/me", headers=headers, timeout=30)

    assert [response.status_code for response in blocked] == [200], blocked[0].text
    assert recovered.status_code == 200
    assert Message.objects.filter(end_user__external_id="stuck").count() == 2
