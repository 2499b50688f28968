import time
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from tenants.models import Scope, Vendor
from tenants.widget_tokens import (
    WidgetTokenError,
    origin_allowed,
    origin_normalize,
    widget_token_verify,
)

pytestmark = pytest.mark.django_db


def test_a_minted_token_is_bound_to_the_vendor_and_end_user(vendor: Vendor, api: APIClient) -> None:
    response = api.post(
        "/v1/widget-tokens", {"user_id": "alice", "ttl_seconds": 120}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["websocket_url"] == "/ws/chat/"
    grant = widget_token_verify(body["token"])
    assert grant.vendor == vendor
    assert grant.end_user_external_id == "alice"
    assert grant.thread_external_id is None
    assert 100 < grant.expires_at.timestamp() - time.time() <= 120


def test_a_tampered_token_is_refused(api: APIClient) -> None:
    token = api.post("/v1/widget-tokens", {"user_id": "alice"}, format="json").json()["token"]

    with pytest.raises(WidgetTokenError, match="not valid"):
        widget_token_verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))


def test_an_expired_token_is_refused(api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    with override_settings(WIDGET_TOKEN_TTL_SECONDS=30):
        token = api.post("/v1/widget-tokens", {"user_id": "a"}, format="json").json()["token"]
    later = time.time() + 31
    monkeypatch.setattr("tenants.widget_tokens.time.time", lambda: later)

    with pytest.raises(WidgetTokenError, match="expired"):
        widget_token_verify(token)


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "user_id"), ({"user_id": 5}, "user_id"), ({"user_id": "a", "ttl_seconds": 5}, "ttl")],
)
def test_bad_token_requests_get_400(api: APIClient, body: dict[str, object], field: str) -> None:
    response = api.post("/v1/widget-tokens", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_minting_needs_a_key_with_the_chat_scope(
    vendor: Vendor, client_for: Callable[..., APIClient]
) -> None:
    read_only = client_for(vendor, scopes=[Scope.MEMORY_READ])

    assert read_only.post("/v1/widget-tokens", {"user_id": "a"}, format="json").status_code == 403
    assert APIClient().post("/v1/widget-tokens", {"user_id": "a"}).status_code == 401


@override_settings(ALLOWED_HOSTS=["infyn.io"])
def test_origins_are_compared_normalized(vendor: Vendor) -> None:
    vendor.allowed_origins = ["https://Shop.Example:443"]

    assert origin_normalize("https://shop.example/") == "https://shop.example"
    assert origin_normalize("javascript:alert(1)") is None
    assert origin_allowed(vendor=vendor, origin="https://shop.example")
    assert not origin_allowed(vendor=vendor, origin="http://shop.example")
    assert not origin_allowed(vendor=vendor, origin=None)
    # infyn's own pages (the demo) are served from one of its own host names
    assert origin_allowed(vendor=vendor, origin="http://infyn.io:8000")


@override_settings(ALLOWED_HOSTS=["infyn.io", "*"])
def test_a_page_is_ours_only_by_our_host_names_never_by_its_host_header(vendor: Vendor) -> None:
    # DNS rebinding: evil.example resolves to our address, so its page's requests carry
    # Host: evil.example and Origin: http://evil.example, which used to count as same-origin.
    assert not origin_allowed(vendor=vendor, origin="http://evil.example")
    # a wildcard in ALLOWED_HOSTS names no host of ours
    assert not origin_allowed(vendor=vendor, origin="http://anything.example")


def test_create_vendor_takes_allowed_origins_and_refuses_bad_ones() -> None:
    call_command("create_vendor", "Shop", "--allowed-origin", "https://shop.example/")

    assert Vendor.objects.get(name="Shop").allowed_origins == ["https://shop.example"]
    with pytest.raises(Exception, match="Not a web origin"):
        call_command("create_vendor", "Bad", "--allowed-origin", "shop.example")
