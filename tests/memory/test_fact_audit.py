"""Facts changed or deleted through the API leave an audit event, without the fact's text."""

import pytest
from rest_framework.test import APIClient

from tenants.models import AuditEvent, EndUser

pytestmark = pytest.mark.django_db


def _stated(api: APIClient) -> int:
    response = api.post(
        "/v1/users/alice/memories",
        {"text": "Alice is allergic to peanuts.", "category": "attribute", "importance": 0.9},
        format="json",
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def test_changing_a_fact_records_which_fields_changed_and_who_changed_them(
    api: APIClient, end_user: EndUser
) -> None:
    fact_id = _stated(api)

    response = api.patch(
        f"/v1/users/alice/memories/{fact_id}",
        {"text": "Alice is allergic to cashews.", "importance": 0.4},
        format="json",
    )

    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.FACT_UPDATED)
    assert (event.vendor_id, event.target) == (end_user.vendor_id, f"fact:{fact_id}")
    assert event.data == {"fields": ["importance", "text"]}
    assert event.actor.startswith("api_key:")
    assert "cashews" not in str(event.data)
    assert "peanuts" not in str(event.data)


def test_deleting_a_fact_records_it(api: APIClient, end_user: EndUser) -> None:
    fact_id = _stated(api)

    assert api.delete(f"/v1/users/alice/memories/{fact_id}").status_code == 204

    event = AuditEvent.objects.get(action=AuditEvent.Action.FACT_DELETED)
    assert (event.vendor_id, event.target, event.data) == (
        end_user.vendor_id,
        f"fact:{fact_id}",
        {},
    )
    listed = api.get("/v1/audit-events", {"action": "fact.deleted"}).json()["results"]
    assert [item["target"] for item in listed] == [f"fact:{fact_id}"]


def test_a_refused_change_records_nothing(api: APIClient, end_user: EndUser) -> None:
    fact_id = _stated(api)

    response = api.patch(f"/v1/users/alice/memories/{fact_id}", {"importance": 7}, format="json")

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.FACT_UPDATED).exists()
