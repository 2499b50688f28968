"""Exporting an end user: everything stored about them, as one streamed JSON document."""

import json
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings
from rest_framework.test import APIClient

from billing.export import end_user_export, end_user_export_chunks
from billing.models import Surface, UsageRecord, UsageStatus
from memory.models import Fact, Message, Summary
from memory.services import ImportResult
from tenants.models import AuditEvent, EndUser, Scope, Thread, Vendor
from tests.conftest import START
from tests.factories import EndUserFactory, ThreadFactory

pytestmark = pytest.mark.django_db(transaction=True)  # facts and summaries come at commit


def _usage_record(end_user: EndUser, *, prompt_tokens: int) -> UsageRecord:
    return UsageRecord.objects.create(
        vendor=end_user.vendor,
        end_user=end_user,
        thread=Thread.objects.filter(end_user=end_user).first(),
        surface=Surface.CHAT,
        status=UsageStatus.OK,
        backend="openai",
        model="m",
        prompt_tokens=prompt_tokens,
        completion_tokens=5,
        baseline_tokens=40,
        memory_items=2,
        retrieval_ms=1.0,
        total_ms=2.0,
    )


@pytest.fixture
def alice(vendor: Vendor, say: Callable[..., ImportResult]) -> EndUser:
    """An end user with two threads, a superseded fact, a summary and a usage record."""
    end_user = EndUserFactory(vendor=vendor, external_id="alice", metadata={"plan": "gold"})
    with override_settings(MEMORY_SUMMARY_WINDOW=2):
        say(end_user, ["I live in Lisbon.", "I moved to Berlin last month.", "My dog is Biscuit."])
        say(end_user, ["I also have a cat named Miso."], thread="t2")
    _usage_record(end_user, prompt_tokens=10)
    return end_user


@pytest.fixture
def bob(vendor: Vendor, say: Callable[..., ImportResult]) -> EndUser:
    """Another end user of the same vendor, with something of each kind."""
    end_user = EndUserFactory(vendor=vendor, external_id="bob")
    with override_settings(MEMORY_SUMMARY_WINDOW=2):
        say(end_user, ["I work as a pilot.", "I fly to Tokyo every week."], thread="b1")
    _usage_record(end_user, prompt_tokens=99)
    return end_user


def _export(api: APIClient, external_id: str) -> dict[str, object]:
    response = api.get(f"/v1/users/{external_id}/export")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    document: dict[str, object] = json.loads(b"".join(response.streaming_content))
    return document


def _ids(rows: object) -> set[object]:
    assert isinstance(rows, list)
    return {row["id"] for row in rows}


def test_the_export_holds_everything_stored_about_the_end_user_and_nothing_else(
    api: APIClient, alice: EndUser, bob: EndUser
) -> None:
    # given both end users have something of every kind
    for end_user in (alice, bob):
        assert Summary.objects.filter(end_user=end_user).exists()

    # when alice is exported
    document = _export(api, "alice")

    # then every row of hers is there, and none of bob's
    assert document["end_user"] == {
        "id": str(alice.pk),
        "external_id": "alice",
        "metadata": {"plan": "gold"},
        "created_at": document["end_user"]["created_at"],  # type: ignore[index]
    }
    assert _ids(document["threads"]) == {
        str(pk) for pk in Thread.objects.filter(end_user=alice).values_list("pk", flat=True)
    }
    assert _ids(document["messages"]) == set(
        Message.objects.filter(end_user=alice).values_list("pk", flat=True)
    )
    assert _ids(document["facts"]) == set(
        Fact.objects.filter(end_user=alice).values_list("pk", flat=True)
    )
    assert _ids(document["summaries"]) == set(
        Summary.objects.filter(end_user=alice).values_list("pk", flat=True)
    )
    assert _ids(document["usage"]) == set(
        UsageRecord.objects.filter(end_user=alice).values_list("pk", flat=True)
    )
    assert "bob" not in json.dumps(document)
    assert "Tokyo" not in json.dumps(document)
    assert {row["content"] for row in document["messages"]} == {  # type: ignore[attr-defined]
        "I live in Lisbon.",
        "I moved to Berlin last month.",
        "My dog is Biscuit.",
        "I also have a cat named Miso.",
    }
    assert {row["thread"] for row in document["messages"]} == {"t1", "t2"}  # type: ignore[attr-defined]


def test_the_export_keeps_the_history_of_a_superseded_fact(api: APIClient, alice: EndUser) -> None:
    superseded = Fact.objects.get(end_user=alice, valid_to__isnull=False)

    facts = {row["id"]: row for row in _export(api, "alice")["facts"]}  # type: ignore[attr-defined]

    old = facts[superseded.pk]
    assert "Lisbon" in old["value"]
    assert old["current"] is False
    assert old["valid_from"] is not None
    assert old["valid_to"] is not None
    successor = facts[old["superseded_by"]]
    assert "Berlin" in successor["value"]
    assert successor["current"] is True
    assert successor["valid_to"] is None


def test_an_export_is_audited_with_counts_and_no_personal_data(
    api: APIClient, alice: EndUser
) -> None:
    document = _export(api, "alice")

    event = AuditEvent.objects.get(action=AuditEvent.Action.END_USER_EXPORTED)
    assert event.vendor_id == alice.vendor_id
    assert event.actor.startswith("api_key:")
    assert event.target == document["id"]
    assert event.data == {
        "counts": {
            kind: len(document[kind])  # type: ignore[arg-type]
            for kind in ("threads", "messages", "facts", "summaries", "usage")
        }
    }
    assert "alice" not in json.dumps(event.data) + event.target
    assert str(alice.pk) not in json.dumps(event.data) + event.target


def test_other_vendors_key_and_an_unknown_end_user_get_404(
    client_for: Callable[..., APIClient], other_vendor: Vendor, api: APIClient, alice: EndUser
) -> None:
    for response in (
        client_for(other_vendor).get("/v1/users/alice/export"),
        api.get("/v1/users/nobody/export"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.END_USER_EXPORTED).exists()


def test_a_key_without_users_read_is_refused(
    client_for: Callable[..., APIClient], vendor: Vendor, alice: EndUser
) -> None:
    client = client_for(vendor, scopes=[Scope.MEMORY_READ, Scope.USERS_WRITE])

    response = client.get("/v1/users/alice/export")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_an_end_user_without_anything_stored_exports_empty_lists(
    api: APIClient, vendor: Vendor
) -> None:
    EndUserFactory(vendor=vendor, external_id="carol")

    document = _export(api, "carol")

    for kind in ("threads", "messages", "facts", "summaries", "usage"):
        assert document[kind] == []


def test_a_large_export_is_written_without_holding_the_document_in_memory(
    vendor: Vendor,
) -> None:
    # given an end user with thousands of long messages (inserted directly: speed)
    end_user = EndUserFactory(vendor=vendor)
    thread = ThreadFactory(end_user=end_user)
    messages = 6000
    Message.objects.bulk_create(
        Message(
            end_user=end_user,
            thread=thread,
            role="user",
            content=f"Message {position}: " + "lorem ipsum dolor " * 50,
            position=position,
            created_at=START + timedelta(seconds=position),
        )
        for position in range(1, messages + 1)
    )
    export = end_user_export(end_user=end_user, actor="test")

    # when the document is written, counting its size but keeping none of it
    total = 0
    tracemalloc.start()
    try:
        for piece in end_user_export_chunks(export):
            total += len(piece.encode())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # then the peak of what was allocated meanwhile is a small part of the document
    print(f"export of {messages} messages: {total:,} bytes, peak traced {peak:,} bytes")
    assert total > 5_000_000
    assert peak < total / 4


async def test_under_asgi_the_document_is_sent_as_it_is_read(
    raw_key_for: Callable[..., str], alice: EndUser
) -> None:
    """Django would read a synchronous iterator to its end before sending any of it under
    ASGI (warning that it does); the export must not be, and still reads the database."""
    key = await sync_to_async(raw_key_for)(alice.vendor)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/users/alice/export",
        "raw_path": b"/v1/users/alice/export",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {key}".encode())],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    communicator = ApplicationCommunicator(ASGIHandler(), scope)
    await communicator.send_input({"type": "http.request", "body": b""})

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="StreamingHttpResponse must consume")
        start = await communicator.receive_output(timeout=10)
        body = b""
        while True:
            message = await communicator.receive_output(timeout=10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break

    assert start["status"] == 200
    document = json.loads(body)
    assert document["end_user"]["external_id"] == "alice"
    assert len(document["messages"]) == 4
