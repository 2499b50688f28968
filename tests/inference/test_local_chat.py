"""The whole chat flow on the local model (SmolLM2-135M-Instruct, on the CPU, for real)."""

from collections.abc import Callable, Iterator

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from billing.models import UsageRecord
from inference.backends import reset_chat_backend
from tenants.models import Vendor
from tests.inference.helpers import async_client, post_json, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def local_model() -> Iterator[None]:
    with override_settings(LLM_BACKEND="local", LLM_MODEL="SmolLM2-135M-Instruct"):
        reset_chat_backend()
        yield
    reset_chat_backend()


async def test_the_local_model_streams_a_reply_with_memory_counted_in_its_own_tokens(
    vendor: Vendor, chat_key: Callable[..., str], local_model: None
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    told = await post_json(
        client,
        "/v1/chat/completions",
        {
            "user": "alice",
            "max_tokens": 8,
            "temperature": 0,
            "messages": [{"role": "user", "content": "My dog is called Biscuit."}],
        },
    )

    asked = await post_json(
        client,
        "/v1/chat/completions",
        {
            "user": "alice",
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": 16,
            "temperature": 0,
            "messages": [{"role": "user", "content": "What is my dog called?"}],
        },
    )

    assert told.status_code == 200
    assert told.json()["choices"][0]["message"]["content"]
    events = await read_stream(asked)
    assert events[-1] == "[DONE]"
    text = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e.get("choices")
    )
    assert text.strip()
    infyn = next(e["infyn"] for e in events[:-1] if "infyn" in e)
    assert infyn["token_counter"].startswith("SmolLM2")
    assert infyn["memory"]  # the first thread's exchange is in the second thread's prompt
    usage = events[-2]["usage"]
    assert 0 < usage["completion_tokens"] <= 16
    record = await sync_to_async(UsageRecord.objects.order_by("id").last)()
    assert record is not None
    assert record.backend == "local"
    assert record.first_token_ms is not None
