"""POST /v1/chat/completions and /v1/chat, in-process over Django's ASGI handler, with the
`openai` backend talking to a fake OpenAI-compatible server on a real port."""

from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from billing.models import Surface, UsageRecord, UsageStatus
from inference.backends import reset_chat_backend
from memory.models import Message
from tenants.models import Scope, Vendor
from tests.fakes.openai_server import FakeOpenAI
from tests.inference.helpers import async_client, post_json, read_stream
from tests.infyn.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

COMPLETIONS = "/v1/chat/completions"


def ask(content: str, user: str = "alice", **extra: object) -> dict[str, object]:
    return {
        "model": "any",
        "user": user,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


@sync_to_async
def stored(user: str = "alice") -> list[tuple[str, str]]:
    rows = Message.objects.filter(end_user__external_id=user).order_by("id")
    return [(m.role, m.content) for m in rows]


@sync_to_async
def usage_records() -> list[UsageRecord]:
    return list(UsageRecord.objects.order_by("id"))


async def test_chat_completion_answers_in_openai_shape_and_stores_both_messages(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    response = await post_json(client, COMPLETIONS, ask("Hi, I'm Alice."))

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "fake-model"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello there, I remember you.",
    }
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] > 0
    infyn = body["infyn"]
    assert infyn["user_id"] == "alice"
    assert response["X-Infyn-Thread"] == infyn["thread_id"]
    assert infyn["baseline_tokens"] >= infyn["prompt_tokens"] - 200  # first turn: no history
    assert await stored() == [
        ("user", "Hi, I'm Alice."),
        ("assistant", "Hello there, I remember you."),
    ]
    [record] = await usage_records()
    assert record.surface == Surface.CHAT_COMPLETIONS
    assert record.status == UsageStatus.OK
    assert record.first_token_ms is not None
    assert record.total_ms >= record.first_token_ms
    assert record.completion_tokens > 0


async def test_streaming_sends_chunks_usage_and_done(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    response = await post_json(
        client, COMPLETIONS, ask("Hello", stream=True, stream_options={"include_usage": True})
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    events = await read_stream(response)
    assert events[-1] == "[DONE]"
    pieces = [e["choices"][0]["delta"].get("content", "") for e in events[:-2] if e["choices"]]
    assert "".join(pieces) == "Hello there, I remember you."
    assert len([p for p in pieces if p]) > 1  # streamed, not one block
    finish = events[-3]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["infyn"]["thread_id"] == response["X-Infyn-Thread"]
    usage = events[-2]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 5


async def test_a_fact_told_in_one_thread_is_in_the_prompt_of_a_new_thread_only_for_that_user(
    vendor: Vendor, other_vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    other_client = async_client(await sync_to_async(chat_key)(other_vendor))
    await post_json(client, COMPLETIONS, ask("My dog is called Biscuit."))

    await post_json(client, COMPLETIONS, ask("What is my dog called?"))
    alice_prompt = str(fake_llm.requests[-1]["body"]["messages"])
    await post_json(client, COMPLETIONS, ask("What is my dog called?", user="bob"))
    bob_prompt = str(fake_llm.requests[-1]["body"]["messages"])
    await post_json(other_client, COMPLETIONS, ask("What is my dog called?"))
    other_vendor_prompt = str(fake_llm.requests[-1]["body"]["messages"])

    assert "Biscuit" in alice_prompt
    assert "Biscuit" not in bob_prompt
    assert "Biscuit" not in other_vendor_prompt


async def test_the_thread_header_continues_a_thread_with_its_recent_turns(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    first = await post_json(client, COMPLETIONS, ask("Let's plan a trip to Porto."))
    thread = first["X-Infyn-Thread"]

    second = await post_json(
        client, COMPLETIONS, ask("What should I pack?"), **{"X-Infyn-Thread": thread}
    )

    assert second.json()["infyn"]["thread_id"] == thread
    roles = [m["role"] for m in fake_llm.requests[-1]["body"]["messages"]]
    assert roles[-3:] == ["user", "assistant", "user"]  # the thread's last turns, then the new one


async def test_a_client_system_message_replaces_the_default_system_prompt(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    body = ask("Hi")
    body["messages"] = [{"role": "system", "content": "You are Captain Hook."}, *body["messages"]]  # type: ignore[misc]

    await post_json(client, COMPLETIONS, body)

    assert fake_llm.requests[-1]["body"]["messages"][0] == {
        "role": "system",
        "content": "You are Captain Hook.",
    }


async def test_a_backend_that_refuses_connections_gives_503_and_keeps_the_message(
    vendor: Vendor, chat_key: Callable[..., str]
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    with override_settings(LLM_BACKEND="openai", LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1"):
        reset_chat_backend()
        response = await post_json(client, COMPLETIONS, ask("Are you there?", stream=True))
    reset_chat_backend()

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "backend_unavailable"
    assert await stored() == [("user", "Are you there?")]
    [record] = await usage_records()
    assert record.status == UsageStatus.ERROR
    assert "unreachable" in record.error


@pytest.mark.parametrize(("upstream", "expected"), [(500, 503), (400, 502)])
async def test_upstream_error_statuses_map_to_clear_errors(
    vendor: Vendor,
    chat_key: Callable[..., str],
    fake_llm: FakeOpenAI,
    upstream: int,
    expected: int,
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    fake_llm.status = upstream

    response = await post_json(client, COMPLETIONS, ask("Hello"))

    assert response.status_code == expected
    assert "scripted failure" in response.json()["error"]["message"]


async def test_a_backend_that_stalls_before_the_first_token_times_out_with_503(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    fake_llm.first_token_delay = 5
    with override_settings(LLM_TIMEOUT_SECONDS=1):
        reset_chat_backend()
        with override_settings(LLM_BACKEND="openai", LLM_BASE_URL=fake_llm.base_url):
            response = await post_json(client, COMPLETIONS, ask("Hello", stream=True))

    assert response.status_code == 503
    assert "in time" in response.json()["error"]["message"]


async def test_an_error_mid_stream_becomes_an_error_event_and_keeps_the_partial_reply(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    fake_llm.error_after = 2

    response = await post_json(client, COMPLETIONS, ask("Tell me a story", stream=True))

    events = await read_stream(response)
    assert "[DONE]" not in events
    assert events[-1]["error"]["code"] == "backend_unavailable"
    assert "mid-stream" in events[-1]["error"]["message"]
    assert await stored() == [("user", "Tell me a story"), ("assistant", "Hello there,")]
    [record] = await usage_records()
    assert record.status == UsageStatus.ERROR


async def test_a_dropped_upstream_connection_is_reported_not_hung(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))
    fake_llm.drop_after = 1

    response = await post_json(client, COMPLETIONS, ask("Hello"))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "backend_unavailable"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "user"),
        ({"user": "a", "messages": []}, "messages"),
        ({"user": "a", "messages": [{"role": "assistant", "content": "hi"}]}, "last message"),
        ({"user": "a", "messages": [{"role": "user", "content": "  "}]}, "last message"),
        ({"user": "a", "messages": [{"role": "user", "content": 5}]}, "content"),
        ({"user": "a", "n": 2, "messages": [{"role": "user", "content": "hi"}]}, "n"),
        ({"user": "a", "max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]}, "max"),
        (
            {
                "user": "a",
                "tools": [{"type": "function"}],
                "messages": [{"role": "user", "content": "x"}],
            },
            "tools",
        ),
    ],
)
async def test_bad_requests_get_400_and_store_nothing(
    vendor: Vendor,
    chat_key: Callable[..., str],
    fake_llm: FakeOpenAI,
    body: dict[str, object],
    message: str,
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    response = await post_json(client, COMPLETIONS, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in error["message"]
    assert await stored("a") == []
    assert fake_llm.requests == []


async def test_keys_without_the_chat_scope_or_no_key_are_refused(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    read_only = async_client(await sync_to_async(chat_key)(vendor, scopes=[Scope.MEMORY_READ]))

    forbidden = await post_json(read_only, COMPLETIONS, ask("hi"))
    anonymous = await post_json(async_client("infyn_bogus.key"), COMPLETIONS, ask("hi"))

    assert forbidden.status_code == 403
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert fake_llm.requests == []


async def test_infyn_chat_answers_with_its_own_shape(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    response = await post_json(
        client, "/v1/chat", {"user_id": "alice", "thread_id": "t1", "message": "Hi there"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["thread_id"] == "t1"
    assert body["message"]["content"] == "Hello there, I remember you."
    assert body["message"]["id"] > body["user_message_id"]
    assert set(body["usage"]) == {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "baseline_tokens",
    }
    assert (await usage_records())[0].surface == Surface.CHAT


async def test_infyn_chat_streams_start_token_and_done_frames(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    response = await post_json(
        client, "/v1/chat", {"user_id": "alice", "message": "Hi there", "stream": True}
    )

    frames = await read_stream(response)
    assert frames[0]["type"] == "start"
    assert "".join(f["text"] for f in frames if f["type"] == "token") == (
        "Hello there, I remember you."
    )
    assert frames[-1]["type"] == "done"
    assert frames[-1]["finish_reason"] == "stop"
    assert frames[-1]["thread_id"] == frames[0]["thread_id"]


async def test_infyn_chat_rejects_a_blank_message(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    client = async_client(await sync_to_async(chat_key)(vendor))

    response = await post_json(client, "/v1/chat", {"user_id": "alice", "message": " "})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "message: Must not be blank."
