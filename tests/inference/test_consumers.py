"""The chat widget's websocket, driven by Channels' WebsocketCommunicator."""

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from django.test import override_settings

from billing.models import UsageRecord, UsageStatus
from infyn.asgi import application
from memory.models import Message
from tenants.models import ApiKey, Vendor
from tenants.services import api_key_create, api_key_revoke
from tenants.widget_tokens import widget_token_mint
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "https://shop.example"


@pytest.fixture
def allowed_vendor(vendor: Vendor) -> Vendor:
    vendor.allowed_origins = [SHOP]
    vendor.save(update_fields=["allowed_origins"])
    return vendor


@sync_to_async
def token_for(vendor: Vendor, user: str = "alice", **kwargs: Any) -> str:
    api_key, _raw = api_key_create(vendor=vendor, name="widget", actor="test")
    token, _expires = widget_token_mint(api_key=api_key, end_user_external_id=user, **kwargs)
    return token


async def connect(token: str, origin: str = SHOP) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/chat/?token={token}",
        headers=[(b"origin", origin.encode()), (b"host", b"testserver")],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def frames_until(communicator: WebsocketCommunicator, kind: str) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = json.loads(await communicator.receive_from(timeout=10))
        frames.append(frame)
        if frame["type"] in {kind, "error"}:
            return frames


async def slow_reply_started(vendor: Vendor, fake_llm: FakeOpenAI) -> WebsocketCommunicator:
    """A connection whose reply (50 words, 0.1 s apart) has started streaming."""
    fake_llm.default_reply = " ".join(["slow"] * 50)
    fake_llm.token_delay = 0.1
    ws = await connect(await token_for(vendor))
    await ws.receive_json_from()
    await ws.send_json_to({"type": "message", "content": "Talk slowly"})
    await frames_until(ws, "token")
    return ws


async def test_a_chat_streams_tokens_then_done_with_usage_and_memory(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    ws = await connect(await token_for(allowed_vendor))
    ready = await ws.receive_json_from()

    await ws.send_json_to({"type": "message", "content": "My dog is called Biscuit."})
    frames = await frames_until(ws, "done")

    assert ready == {"type": "ready", "user_id": "alice", "thread_id": None}
    assert frames[0]["type"] == "start"
    text = "".join(f["text"] for f in frames if f["type"] == "token")
    assert text == "Hello there, I remember you."
    done = frames[-1]
    assert done["type"] == "done"
    assert done["finish_reason"] == "stop"
    assert done["usage"]["completion_tokens"] > 0
    assert done["thread_id"] == frames[0]["thread_id"]
    await ws.disconnect()


async def test_tiny_token_frames_are_batched(allowed_vendor: Vendor, fake_llm: FakeOpenAI) -> None:
    fake_llm.default_reply = " ".join(["word"] * 200)
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    await ws.send_json_to({"type": "message", "content": "Say word a lot."})
    frames = await frames_until(ws, "done")

    tokens = [f for f in frames if f["type"] == "token"]
    assert "".join(f["text"] for f in tokens) == fake_llm.default_reply
    assert len(tokens) < 100  # 200 pieces arrive faster than the flush interval
    await ws.disconnect()


async def test_the_next_message_continues_the_thread(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()
    await ws.send_json_to({"type": "message", "content": "First"})
    first = await frames_until(ws, "done")

    await ws.send_json_to({"type": "message", "content": "Second"})
    second = await frames_until(ws, "done")

    assert second[-1]["thread_id"] == first[-1]["thread_id"]
    roles = [m["role"] for m in fake_llm.requests[-1]["body"]["messages"]]
    assert roles[-3:] == ["user", "assistant", "user"]
    await ws.disconnect()


async def test_an_invalid_token_is_refused_with_4401(allowed_vendor: Vendor) -> None:
    ws = await connect("not-a-token")

    frame = await ws.receive_json_from()
    closed = await ws.receive_output()

    assert frame["error"]["code"] == "unauthenticated"
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_a_token_whose_key_was_revoked_is_refused(allowed_vendor: Vendor) -> None:
    token = await token_for(allowed_vendor)
    await sync_to_async(
        lambda: [api_key_revoke(api_key=k, actor="t") for k in ApiKey.objects.all()]
    )()

    ws = await connect(token)

    assert "revoked" in (await ws.receive_json_from())["error"]["message"]
    assert (await ws.receive_output())["code"] == 4401


async def test_a_page_on_another_origin_is_refused_with_4403(allowed_vendor: Vendor) -> None:
    ws = await connect(await token_for(allowed_vendor), origin="https://evil.example")

    frame = await ws.receive_json_from()

    assert frame["error"]["code"] == "forbidden_origin"
    assert (await ws.receive_output())["code"] == 4403


async def test_another_vendors_token_for_the_same_user_id_sees_nothing_of_the_first(
    allowed_vendor: Vendor, other_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    other_vendor.allowed_origins = [SHOP]
    await sync_to_async(other_vendor.save)()
    first = await connect(await token_for(allowed_vendor))
    await first.receive_json_from()
    await first.send_json_to({"type": "message", "content": "My dog is called Biscuit."})
    await frames_until(first, "done")
    await first.disconnect()

    second = await connect(await token_for(other_vendor))
    await second.receive_json_from()
    await second.send_json_to({"type": "message", "content": "What is my dog called?"})
    await frames_until(second, "done")

    assert "Biscuit" not in str(fake_llm.requests[-1]["body"]["messages"])
    owners = await sync_to_async(
        lambda: set(
            Message.objects.filter(content__contains="Biscuit").values_list(
                "end_user__vendor", flat=True
            )
        )
    )()
    assert owners == {allowed_vendor.pk}
    await second.disconnect()


async def test_cancel_stops_the_generation_and_the_upstream_request(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    ws = await slow_reply_started(allowed_vendor, fake_llm)

    await ws.send_json_to({"type": "cancel"})
    frames = await frames_until(ws, "done")

    assert frames[-1]["finish_reason"] == "cancelled"
    await asyncio.sleep(0.3)
    assert fake_llm.abandoned == 1
    record = await sync_to_async(UsageRecord.objects.get)()
    assert record.status == UsageStatus.CANCELLED
    partial = await sync_to_async(Message.objects.get)(role="assistant")
    assert partial.content.startswith("slow")
    assert len(partial.content) < len(fake_llm.default_reply)
    await ws.disconnect()


async def test_disconnecting_mid_stream_closes_the_upstream_request(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    ws = await slow_reply_started(allowed_vendor, fake_llm)

    await ws.disconnect()

    await asyncio.sleep(0.3)
    assert fake_llm.abandoned == 1
    record = await sync_to_async(UsageRecord.objects.get)()
    assert record.status == UsageStatus.CANCELLED


async def test_one_generation_at_a_time(allowed_vendor: Vendor, fake_llm: FakeOpenAI) -> None:
    fake_llm.default_reply = " ".join(["slow"] * 20)
    fake_llm.token_delay = 0.05
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()
    await ws.send_json_to({"type": "message", "content": "One"})
    await frames_until(ws, "start")

    await ws.send_json_to({"type": "message", "content": "Two"})
    frames = await frames_until(ws, "error")

    assert frames[-1]["error"]["code"] == "busy"
    await frames_until(ws, "done")
    assert len(fake_llm.requests) == 1
    await ws.disconnect()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_frame"),
        ('["a list"]', "invalid_frame"),
        ('{"type": "dance"}', "invalid_frame"),
        ('{"type": "message", "content": ""}', "invalid_request"),
        ('{"type": "message", "content": 42}', "invalid_request"),
    ],
)
async def test_malformed_frames_get_an_error_frame_and_the_socket_stays_open(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI, raw: str, code: str
) -> None:
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    await ws.send_to(text_data=raw)
    frame = await ws.receive_json_from()
    await ws.send_json_to({"type": "ping"})

    assert frame["error"]["code"] == code
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


async def test_a_backend_that_is_down_gives_an_error_frame_and_keeps_the_message(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    fake_llm.status = 503
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    await ws.send_json_to({"type": "message", "content": "Hello?"})
    frames = await frames_until(ws, "done")

    assert frames[0]["type"] == "start"
    assert frames[-1]["error"]["code"] == "backend_unavailable"
    assert await sync_to_async(Message.objects.filter(role="user", content="Hello?").exists)()
    await ws.disconnect()


async def test_a_reply_piling_up_unsent_past_the_cap_closes_the_connection(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    fake_llm.default_reply = " ".join(["word"] * 400)  # about 2,000 bytes
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    # frames go out at most every 10 s, so after the first the text waits, past 1 KiB
    with override_settings(WS_FLUSH_INTERVAL_MS=10_000, WS_MAX_UNSENT_BYTES=1024):
        await ws.send_json_to({"type": "message", "content": "Say word a lot."})
        frames = await frames_until(ws, "done")
        closed = await ws.receive_output(timeout=5)

    assert frames[-1]["error"]["code"] == "slow_client"
    assert closed == {"type": "websocket.close", "code": 4408}
    record = await sync_to_async(UsageRecord.objects.get)()
    assert record.status == UsageStatus.CANCELLED


# --- every turn ends with a frame, whatever fails --------------------------------------------


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "message", "content": "a NUL \u0000 here"}, "content"),
        ({"type": "message", "content": "Hi", "thread_id": "t\u0000"}, "thread_id"),
        ({"type": "message", "content": "Hi", "thread_id": "a/b"}, "thread_id"),
        ({"type": "message", "content": "Hi", "thread_id": "x" * 256}, "thread_id"),
    ],
)
async def test_a_message_that_the_database_could_not_store_is_refused_with_a_frame(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI, frame: dict[str, Any], field: str
) -> None:
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    await ws.send_json_to(frame)
    error = await ws.receive_json_from(timeout=5)

    assert error["type"] == "error"
    assert error["error"]["code"] == "invalid_request"
    assert field in error["error"]["message"] or "NUL" in error["error"]["message"]
    assert not await sync_to_async(Message.objects.exists)()
    await ws.disconnect()


async def test_a_frame_nested_too_deep_is_refused(allowed_vendor: Vendor) -> None:
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    await ws.send_to(text_data="[" * 100_000 + "]" * 100_000)

    assert (await ws.receive_json_from())["error"]["code"] == "invalid_request"
    await ws.disconnect()


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (OperationalError("the database went away"), "database_unavailable"),
        (RuntimeError("a bug"), "server_error"),
    ],
)
async def test_a_turn_that_fails_before_the_reply_ends_with_an_error_frame(
    allowed_vendor: Vendor,
    fake_llm: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    code: str,
) -> None:
    def broken(**kwargs: object) -> None:
        raise failure

    monkeypatch.setattr("inference.consumers.chat_prepare", broken)
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    await ws.send_json_to({"type": "message", "content": "Hello?"})
    frame = await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "ping"})

    assert frame["error"]["code"] == code
    assert await ws.receive_json_from() == {"type": "pong"}  # and the socket still works
    await ws.disconnect()


async def test_a_turn_that_fails_mid_reply_ends_with_an_error_frame_and_its_record(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> dict[str, Any]:
        raise RuntimeError("a bug while framing the reply")

    monkeypatch.setattr("inference.consumers.token_frame", broken)
    ws = await connect(await token_for(allowed_vendor))
    await ws.receive_json_from()

    await ws.send_json_to({"type": "message", "content": "Hello?"})
    frames = await frames_until(ws, "done")

    assert frames[0]["type"] == "start"
    assert frames[-1]["error"]["code"] == "server_error"
    record = await sync_to_async(UsageRecord.objects.get)()
    assert record.status == UsageStatus.ERROR
    await ws.disconnect()


# --- revocation and host names ---------------------------------------------------------------


async def test_revoking_the_key_closes_its_open_websockets_within_seconds(
    allowed_vendor: Vendor, fake_llm: FakeOpenAI
) -> None:
    with override_settings(WS_REVOCATION_CHECK_SECONDS=0.2):
        ws = await connect(await token_for(allowed_vendor))
        await ws.receive_json_from()

        await sync_to_async(
            lambda: [api_key_revoke(api_key=k, actor="t") for k in ApiKey.objects.all()]
        )()
        frame = await ws.receive_json_from(timeout=5)
        closed = await ws.receive_output(timeout=5)

    assert frame["error"]["code"] == "unauthenticated"
    assert "revoked" in frame["error"]["message"]
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_a_handshake_for_a_host_not_in_allowed_hosts_is_refused(
    allowed_vendor: Vendor,
) -> None:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/chat/?token={await token_for(allowed_vendor)}",
        headers=[(b"origin", b"http://evil.example"), (b"host", b"evil.example")],
    )

    connected, _ = await communicator.connect()

    assert not connected
