from collections.abc import Callable

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from rest_framework.test import APIClient

from infyn.lib.redis_cache import redis_client
from tenants.apps import check_rate_limit
from tenants.models import ApiKey, EndUser, Scope, Vendor
from tenants.services import api_key_create, api_key_revoke
from tenants.throttling import ApiKeyRateThrottle
from tests.factories import EndUserFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


# --- authentication -------------------------------------------------------------------------


def test_me_shows_the_keys_vendor(api: APIClient, vendor: Vendor) -> None:
    response = api.get("/v1/me")

    assert response.status_code == 200
    assert response.json()["vendor"] == {
        "id": str(vendor.id),
        "name": vendor.name,
        "slug": vendor.slug,
        "plan": "free",
        "created_at": response.json()["vendor"]["created_at"],
    }
    assert "hashed_key" not in response.json()["api_key"]


def test_x_api_key_header_works_like_bearer(
    vendor: Vendor, raw_key_for: Callable[..., str]
) -> None:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key_for(vendor))

    assert client.get("/v1/me").json()["vendor"]["slug"] == vendor.slug


def test_request_without_a_key_is_refused() -> None:
    response = APIClient().get("/v1/me")

    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer infyn_000000000000_not-a-real-secret",
        "Bearer garbage",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
def test_unknown_or_malformed_keys_are_refused(authorization: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)

    assert_error(client.get("/v1/me"), 401, "unauthenticated")


def test_right_prefix_with_wrong_secret_is_refused(vendor: Vendor) -> None:
    api_key, _raw_key = api_key_create(vendor=vendor, name="k", actor="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer infyn_{api_key.prefix}_wrong-secret")

    assert_error(client.get("/v1/me"), 401, "unauthenticated")


def test_revoked_key_is_refused(vendor: Vendor) -> None:
    # given a key that worked
    api_key, raw_key = api_key_create(vendor=vendor, name="k", actor="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/v1/me").status_code == 200

    # when it is revoked
    api_key_revoke(api_key=api_key, actor="test")

    # then it no longer works
    assert_error(client.get("/v1/me"), 401, "unauthenticated")


def test_only_a_keyed_hash_of_the_key_is_stored(vendor: Vendor) -> None:
    api_key, raw_key = api_key_create(vendor=vendor, name="k", actor="test")
    secret = raw_key.split("_", 2)[2]

    stored = ApiKey.objects.filter(pk=api_key.pk).values().get()

    assert all(secret not in str(value) for value in stored.values())
    assert len(stored["hashed_key"]) == 64
    with override_settings(API_KEY_HASH_SECRET="another-secret"):
        # keyed: the same key under another server secret no longer matches
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        assert client.get("/v1/me").status_code == 401


def test_key_use_is_recorded(vendor: Vendor, raw_key_for: Callable[..., str]) -> None:
    raw_key = raw_key_for(vendor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    client.get("/v1/me")

    assert ApiKey.objects.get(prefix=raw_key.split("_")[1]).last_used_at is not None


def test_key_without_the_scope_is_forbidden(
    vendor: Vendor, client_for: Callable[..., APIClient]
) -> None:
    reader = client_for(vendor, scopes=[Scope.USERS_READ])

    assert reader.get("/v1/users").status_code == 200
    assert_error(reader.post("/v1/users", {"external_id": "x"}, format="json"), 403, "forbidden")
    assert not EndUser.objects.filter(vendor=vendor).exists()


@override_settings(API_RATE_LIMIT="3/min")
def test_requests_over_the_rate_limit_get_429(api: APIClient) -> None:
    statuses = [api.get("/v1/me").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert_error(api.get("/v1/me"), 429, "rate_limited")


# --- end users and threads ------------------------------------------------------------------


def test_creating_an_end_user_returns_201_then_200(api: APIClient, vendor: Vendor) -> None:
    first = api.post(
        "/v1/users", {"external_id": "alice", "metadata": {"tier": "gold"}}, format="json"
    )
    again = api.post(
        "/v1/users", {"external_id": "alice", "metadata": {"tier": "other"}}, format="json"
    )

    assert first.status_code == 201
    assert first.json()["external_id"] == "alice"
    assert first.json()["metadata"] == {"tier": "gold"}
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["metadata"] == {"tier": "gold"}
    assert EndUser.objects.filter(vendor=vendor).count() == 1


def test_end_user_can_be_fetched_by_external_id(api: APIClient, vendor: Vendor) -> None:
    EndUserFactory(vendor=vendor, external_id="bob@example.com")

    response = api.get("/v1/users/bob@example.com")

    assert response.status_code == 200
    assert response.json()["external_id"] == "bob@example.com"


def test_end_user_list_is_paginated_newest_first(api: APIClient, vendor: Vendor) -> None:
    for index in range(5):
        EndUserFactory(vendor=vendor, external_id=f"u{index}")

    page = api.get("/v1/users?limit=2").json()
    next_page = api.get(page["next"]).json()

    assert [user["external_id"] for user in page["results"]] == ["u4", "u3"]
    assert [user["external_id"] for user in next_page["results"]] == ["u2", "u1"]


def test_threads_of_an_end_user_are_listed(api: APIClient, vendor: Vendor) -> None:
    alice = EndUserFactory(vendor=vendor, external_id="alice")
    ThreadFactory(end_user=alice, external_id="t1", title="Trip")
    ThreadFactory(end_user=EndUserFactory(vendor=vendor), external_id="someone-elses")

    response = api.get("/v1/users/alice/threads")

    assert response.status_code == 200
    assert [t["external_id"] for t in response.json()["results"]] == ["t1"]


def test_unknown_end_user_is_404(api: APIClient) -> None:
    assert_error(api.get("/v1/users/nobody"), 404, "not_found")
    assert_error(api.get("/v1/users/nobody/threads"), 404, "not_found")


# --- tenant isolation -----------------------------------------------------------------------


def test_other_vendors_key_cannot_read_an_end_user(
    vendor: Vendor, other_vendor: Vendor, client_for: Callable[..., APIClient]
) -> None:
    alice = EndUserFactory(vendor=vendor, external_id="alice")
    ThreadFactory(end_user=alice)
    intruder = client_for(other_vendor)

    assert_error(intruder.get("/v1/users/alice"), 404, "not_found")
    assert_error(intruder.get("/v1/users/alice/threads"), 404, "not_found")


def test_other_vendors_key_lists_none_of_the_end_users(
    vendor: Vendor, other_vendor: Vendor, client_for: Callable[..., APIClient]
) -> None:
    EndUserFactory(vendor=vendor, external_id="alice")
    EndUserFactory(vendor=other_vendor, external_id="carol")

    listed = client_for(other_vendor).get("/v1/users").json()["results"]

    assert [user["external_id"] for user in listed] == ["carol"]


def test_other_vendors_key_cannot_create_under_the_first_vendors_end_user(
    vendor: Vendor, other_vendor: Vendor, client_for: Callable[..., APIClient]
) -> None:
    alice = EndUserFactory(vendor=vendor, external_id="alice", metadata={"owner": "first"})

    response = client_for(other_vendor).post(
        "/v1/users", {"external_id": "alice", "metadata": {"owner": "intruder"}}, format="json"
    )

    # a separate end user of the other vendor, not the first vendor's alice
    assert response.status_code == 201
    assert response.json()["id"] != str(alice.id)
    alice.refresh_from_db()
    assert alice.metadata == {"owner": "first"}
    assert client_for(vendor).get("/v1/users/alice").json()["metadata"] == {"owner": "first"}


# --- bad input ------------------------------------------------------------------------------


def test_malformed_json_is_a_400_in_the_error_shape(api: APIClient) -> None:
    response = api.post("/v1/users", '{"external_id": "alice"', content_type="application/json")

    assert_error(response, 400, "malformed_json")
    assert not EndUser.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"external_id": 5}, "external_id"),
        ({"external_id": True}, "external_id"),
        ({"external_id": ["alice"]}, "external_id"),
        ({"external_id": "alice", "metadata": ["a"]}, "metadata"),
        ({"external_id": "alice", "metadata": "x"}, "metadata"),
        ({}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "a/b"}, "external_id"),
        ({"external_id": "x" * 256}, "external_id"),
    ],
)
def test_wrong_types_are_a_400_naming_the_field(api: APIClient, payload: dict, field: str) -> None:  # type: ignore[type-arg]
    response = api.post("/v1/users", payload, format="json")

    assert_error(response, 400, "invalid_request")
    assert field in response.json()["error"]["details"]
    assert response.json()["error"]["message"].startswith(field)
    assert not EndUser.objects.exists()


def test_json_that_is_not_an_object_is_a_400(api: APIClient) -> None:
    response = api.post("/v1/users", "[1, 2]", content_type="application/json")

    assert_error(response, 400, "invalid_request")


@override_settings(MAX_REQUEST_BYTES=2048)
def test_oversized_body_is_a_413(api: APIClient) -> None:
    payload = {"external_id": "alice", "metadata": {"blob": "x" * 4096}}

    response = api.post("/v1/users", payload, format="json")

    assert_error(response, 413, "payload_too_large")
    assert not EndUser.objects.exists()


def test_unsupported_media_type_is_a_415(api: APIClient) -> None:
    response = api.post("/v1/users", "external_id=alice", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_unknown_api_path_is_a_json_404(api: APIClient) -> None:
    assert_error(api.get("/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_a_405(api: APIClient) -> None:
    assert_error(api.delete("/v1/me"), 405, "method_not_allowed")


# --- schema ---------------------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served() -> None:
    client = APIClient()

    schema = client.get("/v1/schema?format=json")
    docs = client.get("/v1/docs")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/v1/me", "/v1/users", "/v1/users/{external_id}"} <= set(paths)
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.redis
def test_the_rate_limit_counts_in_redis_when_the_cache_is_redis(
    vendor: Vendor, client_for: Callable[..., APIClient], redis_url: str
) -> None:
    redis_cache = {
        "default": {
            "BACKEND": "infyn.lib.redis_cache.OutageTolerantRedisCache",
            "LOCATION": redis_url,
        }
    }
    with override_settings(CACHES=redis_cache, API_RATE_LIMIT="2/min"):
        caches["default"].clear()
        api = client_for(vendor)
        statuses = [api.get("/v1/me").status_code for _ in range(3)]
        counters = redis_client().keys("*throttle:api_key:*")

    assert statuses == [200, 200, 429]
    assert len(counters) == 1


@pytest.mark.parametrize(
    "rate",
    ["600", "ten/min", "600/fortnight", "600/mango", "-5/min", "1_000/min", " 600/min", "600/"],
)
def test_a_rate_limit_drf_cannot_read_stops_the_app_from_starting(rate: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="INFYN_API_RATE_LIMIT"):
        check_rate_limit(rate)


@pytest.mark.parametrize(
    ("rate", "parsed"), [("600/min", (600, 60)), ("5/s", (5, 1)), ("2/hour", (2, 3600))]
)
def test_the_rate_limit_is_read_with_drfs_syntax(rate: str, parsed: tuple[int, int]) -> None:
    check_rate_limit(rate)  # accepted
    with override_settings(API_RATE_LIMIT=rate):
        throttle = ApiKeyRateThrottle()
    assert (throttle.num_requests, throttle.duration) == parsed
