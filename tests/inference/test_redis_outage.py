"""Redis is an accelerator, not a single point of failure: with it down, chats still store the
user's message and answer, and the rate limit still holds (per process). The outbox side is
in tests/memory/test_outbox.py.

Before, the rate limiter's Redis call raised before the message was stored: every API request
answered 500 and nothing was kept.
"""

from collections.abc import Callable, Iterator

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.test import override_settings

from memory.models import Message
from tenants.models import Vendor
from tests.fakes.openai_server import FakeOpenAI
from tests.inference.helpers import async_client, post_json
from tests.infyn.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_down() -> Iterator[str]:
    """The cache is Redis, as in production, at an address where nothing listens."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    cache = {
        "default": {
            "BACKEND": "infyn.lib.redis_cache.OutageTolerantRedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 5},
        }
    }
    with override_settings(CACHES=cache):
        yield url


def ask(content: str) -> dict[str, object]:
    return {"user": "alice", "messages": [{"role": "user", "content": content}]}


async def test_with_redis_down_a_chat_stores_the_message_and_answers(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI, redis_down: str
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    response = await post_json(client, "/v1/chat/completions", ask("My dog is called Biscuit."))

    assert response.status_code == 200, response.content
    assert response.json()["choices"][0]["message"]["content"] == fake_llm.default_reply
    roles = await sync_to_async(list)(
        Message.objects.filter(end_user__external_id="alice").values_list("role", flat=True)
    )
    assert sorted(roles) == ["assistant", "user"]


async def test_with_redis_down_the_rate_limit_still_holds_in_each_process(
    vendor: Vendor, chat_key: Callable[..., str], redis_down: str
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    with override_settings(API_RATE_LIMIT="2/min"):
        statuses = [(await client.get("/v1/me")).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_cache_read_with_redis_down_is_a_miss_and_a_write_is_skipped(redis_down: str) -> None:
    cache = caches["default"]

    cache.set("k", "v")

    assert cache.get("k", "default") == "default"
    assert cache.get_many(["k"]) == {}
    assert cache.delete("k") is False
