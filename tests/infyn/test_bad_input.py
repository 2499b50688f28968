"""Inputs that used to answer 500 get a 400 in the one error shape, and store nothing.

Each case here was a 500: PostgreSQL's text cannot hold NUL; a thread id of 256 to 512
characters passed the serializer but not the column; a crafted pagination cursor reached the
database as a timestamp; JSON nested 100,000 deep exhausted the parser's stack.
"""

from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from memory.models import Fact, Message
from tenants.models import EndUser, Vendor
from tests.factories import EndUserFactory
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.inference.helpers import async_client, post_json

pytestmark = pytest.mark.django_db(transaction=True)


def assert_400(response: object, *, mentions: str = "") -> None:
    assert response.status_code == 400, response.content  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "invalid_request"
    assert mentions in error["message"]


@pytest.fixture
def alice(vendor: Vendor) -> EndUser:
    return EndUserFactory(vendor=vendor, external_id="alice")


@pytest.fixture
def upstream(settings: object) -> Iterator[FakeOpenAI]:
    from inference.backends import reset_chat_backend

    with fake_openai_server() as server:
        server.default_reply = "Hello."
        settings.LLM_BACKEND = "openai"  # type: ignore[attr-defined]
        settings.LLM_BASE_URL = server.base_url  # type: ignore[attr-defined]
        settings.LLM_MODEL = "fake-model"  # type: ignore[attr-defined]
        reset_chat_backend()
        yield server
    reset_chat_backend()


def completion(content: object, **extra: object) -> dict[str, object]:
    return {"user": "alice", "messages": [{"role": "user", "content": content}], **extra}


@pytest.mark.parametrize(
    ("body", "headers", "mentions"),
    [
        (completion("a NUL \u0000 here"), {}, "messages[0].content"),
        (completion([{"type": "text", "text": "NUL \u0000"}]), {}, "messages[0].content"),
        (completion("Hi", metadata={"thread_id": "t" * 300}), {}, "metadata"),
        (completion("Hi"), {"X-Infyn-Thread": "t" * 300}, "X-Infyn-Thread"),
        (completion("Hi"), {"X-Infyn-Thread": "a/b"}, "X-Infyn-Thread"),
        ({**completion("Hi"), "user": "a/b"}, {}, "user"),
        ({**completion("Hi"), "user": " alice"}, {}, "user"),
        (completion("Hi", temperature=True), {}, "temperature"),
        (completion("Hi", max_tokens=True), {}, "max_tokens"),
    ],
)
async def test_chat_inputs_the_database_could_not_store_are_a_400(
    vendor: Vendor,
    raw_key_for: Callable[..., str],
    upstream: FakeOpenAI,
    body: dict[str, object],
    headers: dict[str, str],
    mentions: str,
) -> None:
    client = async_client(await sync_to_async(raw_key_for)(vendor))

    response = await post_json(client, "/v1/chat/completions", body, **headers)

    assert_400(response, mentions=mentions)
    assert not await sync_to_async(Message.objects.exists)()
    assert not upstream.requests


@pytest.mark.parametrize(
    "path",
    [
        "/v1/users/a%00b",
        "/v1/users/alice/memories?category=%00",
        "/v1/users/alice/memories/search?q=%00",
        "/v1/users/alice/threads/t%00/messages",
    ],
)
def test_a_nul_in_the_path_or_query_is_a_400(api: APIClient, alice: EndUser, path: str) -> None:
    assert_400(api.get(path), mentions="NUL")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/users?cursor=cD0yMDI2",
        "/v1/users?cursor=garbage",
        "/v1/users?cursor=cD0",
        # "p=2024-13-45T00:00:00": shaped like a timestamp, but no such date
        "/v1/users?cursor=cD0yMDI0LTEzLTQ1VDAwOjAwOjAw",
    ],
)
def test_a_cursor_this_api_did_not_make_names_no_page(
    api: APIClient, alice: EndUser, path: str
) -> None:
    # cD0yMDI2 is base64 for "p=2026": a position that reached the database as a timestamp
    response = api.get(path)

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": response.json()["error"]["message"],
    }
    assert "cursor" in response.json()["error"]["message"]


@pytest.mark.parametrize("limit", ["0", "-3", "501", "null", "²", ""])
def test_a_page_size_outside_1_to_500_is_a_400(api: APIClient, limit: str) -> None:
    assert_400(api.get(f"/v1/users?limit={limit}"), mentions="limit")


def test_a_real_cursor_still_pages(api: APIClient, vendor: Vendor) -> None:
    for n in range(3):
        EndUserFactory(vendor=vendor, external_id=f"user-{n}")

    first = api.get("/v1/users?limit=2").json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1


def test_json_nested_100000_levels_deep_is_a_400(api: APIClient) -> None:
    body = '{"external_id": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = api.post("/v1/users", body, content_type="application/json")

    assert_400(response, mentions="Nested deeper")


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"external_id": "alice\u0000"}, "external_id"),
        ({"external_id": "bob", "metadata": {"k\u0000": 1}}, "metadata"),
        ({"external_id": "bob", "metadata": {"k": "v\u0000"}}, "metadata.k"),
        ({"external_id": "a/b"}, "external_id"),
    ],
)
def test_end_user_inputs_the_database_could_not_store_are_a_400(
    api: APIClient, body: dict[str, object], mentions: str
) -> None:
    assert_400(api.post("/v1/users", body, format="json"), mentions=mentions)
    assert not EndUser.objects.exists()


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"text": "likes tea", "importance": True}, "importance"),
        ({"text": "likes tea", "importance": "0.5"}, "importance"),
        ({"text": "likes \u0000 tea"}, "text"),
    ],
)
def test_fact_inputs_of_the_wrong_kind_are_a_400(
    api: APIClient, alice: EndUser, body: dict[str, object], mentions: str
) -> None:
    assert_400(api.post("/v1/users/alice/memories", body, format="json"), mentions=mentions)
    assert not Fact.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "a/b"},
        {"user_id": "alice", "thread_id": "t" * 256},
        {"user_id": "alice\u0000"},
        {"user_id": "alice", "ttl_seconds": True},
    ],
)
def test_widget_tokens_hold_ids_to_the_same_rule_as_paths(
    api: APIClient, body: dict[str, object]
) -> None:
    assert_400(api.post("/v1/widget-tokens", body, format="json"))


def test_every_id_an_entry_point_accepts_is_reachable_by_path(
    api: APIClient, vendor: Vendor
) -> None:
    # The rule that refuses "/" in chat and widget tokens is the one paths need: an id
    # accepted anywhere can be looked up, its threads listed and its messages read.
    odd = "Ünïcode id with spaces, dots. and %signs"
    path = quote(odd)
    minted = api.post("/v1/widget-tokens", {"user_id": odd, "thread_id": odd}, format="json")
    api.post("/v1/users", {"external_id": odd}, format="json")
    imported = api.post(
        f"/v1/users/{path}/messages/import",
        {"messages": [{"thread": odd, "role": "user", "content": "Hi"}]},
        format="json",
    )

    assert minted.status_code == 201
    assert imported.status_code == 201
    assert api.get(f"/v1/users/{path}").status_code == 200
    messages = api.get(f"/v1/users/{path}/threads/{path}/messages").json()["results"]
    assert messages[0]["content"] == "Hi"
