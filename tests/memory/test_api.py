from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from memory.models import Fact, Message
from tenants.models import EndUser, Vendor

pytestmark = pytest.mark.django_db(transaction=True)

IMPORT = {
    "messages": [
        {
            "thread": "s1",
            "role": "user",
            "name": "Alice",
            "content": "My dog is called Biscuit.",
            "external_id": "D1:1",
            "created_at": "2024-05-08T13:56:00Z",
        },
        {
            "thread": "s1",
            "role": "assistant",
            "content": "What a lovely name!",
            "external_id": "D1:2",
            "created_at": "2024-05-08T13:57:00Z",
        },
        {
            "thread": "s2",
            "role": "user",
            "name": "Alice",
            "content": "I work as a nurse.",
            "external_id": "D2:1",
            "created_at": "2024-06-01T09:00:00Z",
        },
    ]
}


def import_history(api: APIClient, user: str = "alice") -> dict:  # type: ignore[type-arg]
    response = api.post(f"/v1/users/{user}/messages/import", IMPORT, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_import_then_search_explains_its_ranking(api: APIClient, end_user: EndUser) -> None:
    result = import_history(api)

    response = api.get("/v1/users/alice/memories/search", {"q": "dog's name", "k": 3})

    assert result["created"] == 3
    assert set(result["threads"]) == {"s1", "s2"}
    assert response.status_code == 200
    top = response.json()["results"][0]
    assert "Biscuit" in top["text"] + (top["indexed_text"] or "")
    assert top["type"] in {"fact", "message"}
    assert top["source_message_ids"]
    assert {"similarity", "lexical", "recency", "score"} <= set(top["components"])


def test_thread_history_is_listed_oldest_first(api: APIClient, end_user: EndUser) -> None:
    import_history(api)

    response = api.get("/v1/users/alice/threads/s1/messages")

    assert [m["external_id"] for m in response.json()["results"]] == ["D1:1", "D1:2"]
    assert response.json()["results"][0]["name"] == "Alice"


def test_facts_can_be_listed_added_patched_and_deleted(api: APIClient, end_user: EndUser) -> None:
    import_history(api)

    listed = api.get("/v1/users/alice/memories").json()["results"]
    added = api.post(
        "/v1/users/alice/memories",
        {"text": "Alice is allergic to peanuts.", "category": "attribute", "importance": 0.9},
        format="json",
    )
    fact_id = added.json()["id"]
    patched = api.patch(f"/v1/users/alice/memories/{fact_id}", {"importance": 0.4}, format="json")
    deleted = api.delete(f"/v1/users/alice/memories/{fact_id}")

    assert any(f["attribute"] == "dog_name" for f in listed)
    assert added.status_code == 201
    assert added.json()["extractor"] == "api"
    assert patched.json()["importance"] == 0.4
    assert deleted.status_code == 204
    assert not Fact.objects.filter(pk=fact_id).exists()
    assert api.get(f"/v1/users/alice/memories/{fact_id}").status_code == 404


def test_another_vendors_key_gets_nothing(
    api: APIClient,
    end_user: EndUser,
    other_vendor: Vendor,
    client_for: Callable[..., APIClient],
) -> None:
    import_history(api)
    fact = Fact.objects.filter(end_user=end_user).first()
    assert fact is not None
    intruder = client_for(other_vendor)

    responses = [
        intruder.get("/v1/users/alice/memories/search", {"q": "dog"}),
        intruder.get("/v1/users/alice/memories"),
        intruder.get(f"/v1/users/alice/memories/{fact.pk}"),
        intruder.patch(f"/v1/users/alice/memories/{fact.pk}", {"importance": 0}, format="json"),
        intruder.delete(f"/v1/users/alice/memories/{fact.pk}"),
        intruder.get("/v1/users/alice/threads/s1/messages"),
        intruder.post("/v1/users/alice/messages/import", IMPORT, format="json"),
    ]

    assert [r.status_code for r in responses] == [404] * 7
    assert all(r.json()["error"]["code"] == "not_found" for r in responses)
    assert Message.objects.filter(end_user=end_user).count() == 3
    assert Fact.objects.filter(pk=fact.pk).exists()


def test_another_end_users_fact_id_is_a_404(
    api: APIClient, end_user: EndUser, other_end_user: EndUser
) -> None:
    import_history(api, user="bob")
    bobs_fact = Fact.objects.filter(end_user=other_end_user).first()
    assert bobs_fact is not None

    assert api.get(f"/v1/users/alice/memories/{bobs_fact.pk}").status_code == 404
    assert api.delete(f"/v1/users/alice/memories/{bobs_fact.pk}").status_code == 404
    assert Fact.objects.filter(pk=bobs_fact.pk).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"messages": []}, "messages"),
        ({"messages": "nope"}, "messages"),
        ({"messages": [{"thread": "t", "role": "robot", "content": "x"}]}, "messages"),
        ({"messages": [{"thread": "t", "role": "user", "content": 5}]}, "messages"),
        ({"messages": [{"thread": "t", "role": "user", "content": "  "}]}, "messages"),
        (
            {"messages": [{"thread": "t", "role": "user", "content": "x", "created_at": "soon"}]},
            "messages",
        ),
    ],
)
def test_bad_imports_are_refused_and_store_nothing(
    api: APIClient,
    end_user: EndUser,
    payload: dict,
    field: str,  # type: ignore[type-arg]
) -> None:
    response = api.post("/v1/users/alice/messages/import", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert field in response.json()["error"]["details"]
    assert not Message.objects.exists()


def test_bad_search_parameters_are_a_400(api: APIClient, end_user: EndUser) -> None:
    for params in ({}, {"q": "x", "k": 0}, {"q": "x", "k": "many"}):
        response = api.get("/v1/users/alice/memories/search", params)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"
    assert (
        api.get("/v1/users/alice/memories/search", {"q": "x", "thread": "nope"}).status_code == 404
    )


def test_read_only_key_cannot_write_memories(
    vendor: Vendor, end_user: EndUser, client_for: Callable[..., APIClient]
) -> None:
    reader = client_for(vendor, scopes=["memory:read"])

    response = reader.post("/v1/users/alice/memories", {"text": "x"}, format="json")

    assert response.status_code == 403
    assert reader.get("/v1/users/alice/memories").status_code == 200
