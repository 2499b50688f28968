import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.models import ApiKey, AuditEvent, Membership, Role, Vendor

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def me(raw_key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client.get("/v1/me").status_code


def test_create_vendor_json_prints_a_working_key() -> None:
    result = json.loads(run("create_vendor", "Acme Corp", "--json"))

    assert set(result) == {"vendor_id", "slug", "api_key"}
    assert result["slug"] == "acme-corp"
    assert str(Vendor.objects.get(slug="acme-corp").id) == result["vendor_id"]
    assert me(result["api_key"]) == 200


def test_create_vendor_makes_slugs_unique_and_records_the_owner() -> None:
    run("create_vendor", "Acme", "--json")
    second = json.loads(run("create_vendor", "Acme", "--owner-email", "o@acme.test", "--json"))

    assert second["slug"] == "acme-2"
    membership = Membership.objects.get(vendor__slug="acme-2")
    assert membership.user.email == "o@acme.test"
    assert membership.role == Role.OWNER


def test_create_vendor_refuses_a_bad_email_and_a_blank_name() -> None:
    with pytest.raises(CommandError, match="email"):
        run("create_vendor", "Acme", "--owner-email", "not-an-email")
    with pytest.raises(CommandError, match="name"):
        run("create_vendor", "   ")
    assert not Vendor.objects.exists()


def test_create_api_key_with_scopes() -> None:
    run("create_vendor", "Acme", "--json")

    result = json.loads(
        run("create_api_key", "acme", "--name", "ci", "--scope", "users:read", "--json")
    )

    assert result["scopes"] == ["users:read"]
    assert ApiKey.objects.get(prefix=result["prefix"]).name == "ci"
    assert me(result["api_key"]) == 200


def test_create_api_key_for_an_unknown_vendor_fails() -> None:
    with pytest.raises(CommandError, match="No vendor"):
        run("create_api_key", "nope")


def test_revoke_api_key_stops_the_key_and_is_audited() -> None:
    created = json.loads(run("create_vendor", "Acme", "--json"))
    prefix = created["api_key"].split("_")[1]

    output = run("revoke_api_key", prefix)

    assert "Revoked" in output
    assert me(created["api_key"]) == 401
    actions = set(AuditEvent.objects.filter(vendor__slug="acme").values_list("action", flat=True))
    assert {"vendor.created", "api_key.created", "api_key.revoked"} <= actions
    assert "already" in run("revoke_api_key", created["api_key"])


def test_revoke_api_key_with_an_unknown_prefix_fails() -> None:
    with pytest.raises(CommandError, match="No API key"):
        run("revoke_api_key", "ffffffffffff")


def test_ensure_demo_vendor_creates_it_once() -> None:
    first = run("ensure_demo_vendor")
    second = run("ensure_demo_vendor")

    assert "infyn_" in first
    assert "infyn_" not in second
    assert Vendor.objects.filter(slug="demo").count() == 1
