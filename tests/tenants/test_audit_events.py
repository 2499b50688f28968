from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tenants.models import AuditEvent, Scope, Vendor

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
# Long before the events the api fixture's key makes at "now".
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(vendor: Vendor, action: str, at: datetime, target: str = "t") -> AuditEvent:
    return AuditEvent.objects.create(
        vendor=vendor, action=action, actor="alice@example.com", target=target, created_at=at
    )


def listed(client: APIClient, **query: str) -> list[dict[str, Any]]:
    response = client.get("/v1/audit-events", query)
    assert response.status_code == 200, response.content
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def targets(client: APIClient, **query: str) -> list[str]:
    return [item["target"] for item in listed(client, **query)]


def assert_invalid(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"]
    assert list(error["details"]) == [field]


# --- the list ---------------------------------------------------------------------------------


def test_the_vendors_events_come_newest_first(api: APIClient, vendor: Vendor) -> None:
    # given events on three days, stored out of order
    event(vendor, Action.API_KEY_REVOKED, T0 + timedelta(days=1), target="middle")
    event(vendor, Action.VENDOR_CREATED, T0, target="oldest")
    event(vendor, Action.END_USER_ERASED, T0 + timedelta(days=2), target="newest")

    # when the trail is read; then the api fixture's own key, made just now, comes first
    assert targets(api)[1:] == ["newest", "middle", "oldest"]
    assert listed(api)[0]["action"] == Action.API_KEY_CREATED


def test_an_event_shows_what_happened_and_who_did_it(api: APIClient, vendor: Vendor) -> None:
    stored = AuditEvent.objects.create(
        vendor=vendor,
        action=Action.END_USER_ERASED,
        actor="api_key:abc123",
        target="receipt-1",
        data={"counts": {"messages": 3}},
        created_at=T0,
    )

    shown = listed(api, action=Action.END_USER_ERASED)

    assert shown == [
        {
            "id": stored.id,
            "action": "end_user.erased",
            "actor": "api_key:abc123",
            "target": "receipt-1",
            "data": {"counts": {"messages": 3}},
            "created_at": "2026-03-01T12:00:00Z",
        }
    ]


def test_another_vendors_events_never_appear(
    vendor: Vendor, other_vendor: Vendor, client_for: Callable[..., APIClient]
) -> None:
    # given both vendors with events of every action
    for action in Action.values:
        event(vendor, action, T0, target=f"ours {action}")
        event(other_vendor, action, T0, target=f"theirs {action}")
    ours, theirs = client_for(vendor), client_for(other_vendor)

    # when each reads its trail, whatever the filter
    seen_by_us = set(targets(ours)) | {t for a in Action.values for t in targets(ours, action=a)}
    seen_by_them = set(targets(theirs))

    # then each sees its own events and none of the other's
    assert {f"ours {action}" for action in Action.values} <= seen_by_us
    assert not any(target.startswith("theirs") for target in seen_by_us)
    assert not any(target.startswith("ours") for target in seen_by_them)
    own_ids = set(AuditEvent.objects.filter(vendor=vendor).values_list("id", flat=True))
    assert {item["id"] for item in listed(ours)} == own_ids


def test_pages_follow_each_other_without_losing_or_repeating_an_event(
    api: APIClient, vendor: Vendor
) -> None:
    # given seven events, three of them at the same instant
    for minute in [0, 1, 2, 3]:
        event(vendor, Action.THREAD_ERASED, T0 + timedelta(minutes=minute), target=f"m{minute}")
    for same in "abc":
        event(vendor, Action.THREAD_ERASED, T0 + timedelta(minutes=5), target=f"same-{same}")

    # when the trail is read two at a time
    seen: list[str] = []
    response = api.get("/v1/audit-events", {"action": Action.THREAD_ERASED, "limit": "2"})
    pages = 0
    while True:
        assert response.status_code == 200
        page = response.json()
        assert len(page["results"]) <= 2
        seen += [item["target"] for item in page["results"]]
        pages += 1
        if page["next"] is None:
            break
        response = api.get(page["next"])

    # then every event came once, newest first, and the filter held on every page
    assert pages == 4
    assert sorted(seen[:3]) == ["same-a", "same-b", "same-c"]
    assert seen[3:] == ["m3", "m2", "m1", "m0"]


# --- filters ----------------------------------------------------------------------------------


def test_the_action_filter_keeps_that_action_only(api: APIClient, vendor: Vendor) -> None:
    event(vendor, Action.API_KEY_REVOKED, T0, target="revoked")
    event(vendor, Action.END_USER_EXPORTED, T0, target="exported")

    assert targets(api, action=Action.API_KEY_REVOKED) == ["revoked"]
    assert targets(api, action=Action.END_USER_EXPORTED) == ["exported"]
    assert targets(api, action=Action.THREAD_ERASED) == []


def test_the_time_window_includes_since_and_excludes_until(api: APIClient, vendor: Vendor) -> None:
    for hour in range(5):
        event(vendor, Action.API_KEY_REVOKED, T0 + timedelta(hours=hour), target=f"h{hour}")

    window = {"since": "2026-03-01T13:00:00Z", "until": "2026-03-01T15:00:00Z"}

    assert targets(api, **window) == ["h2", "h1"]
    assert targets(api, since="2026-03-01T15:00:00Z", action=Action.API_KEY_REVOKED) == [
        "h4",
        "h3",
    ]
    assert targets(api, until="2026-03-01T13:00:00Z") == ["h0"]
    # an empty window is an empty list, not an error
    assert targets(api, since="2026-03-02T00:00:00Z", until="2026-03-01T00:00:00Z") == []


def test_a_bound_with_an_offset_means_that_instant(api: APIClient, vendor: Vendor) -> None:
    event(vendor, Action.API_KEY_REVOKED, T0, target="noon utc")

    # 14:00 at +02:00 is noon in UTC, 06:59:59.5 at -05:00 is just before it
    assert targets(api, since="2026-03-01T14:00:00+02:00", until="2026-03-01T12:00:01Z") == [
        "noon utc"
    ]
    assert targets(api, until="2026-03-01T06:59:59.5-05:00") == []


@pytest.mark.parametrize(
    ("bound", "value"),
    [
        ("since", "0001-01-01T00:00:00+01:00"),  # before year 1 in UTC
        ("until", "9999-12-31T23:59:59-01:00"),  # after year 9999 in UTC
    ],
)
def test_bounds_past_the_ends_of_the_calendar_still_bound(
    api: APIClient, vendor: Vendor, bound: str, value: str
) -> None:
    event(vendor, Action.API_KEY_REVOKED, T0, target="kept")

    assert "kept" in targets(api, **{bound: value})


def test_an_unknown_action_is_refused(api: APIClient) -> None:
    response = api.get("/v1/audit-events", {"action": "no.such_action"})

    assert_invalid(response, "action")


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2026-03-01",  # a date, not a date-time
        "2026-03-01 12:00:00",  # no offset: whose noon?
        "2026-02-30T12:00:00Z",
        "2026-03-01T24:00:00Z",
        "2026-03-01T12:00:00+24:00",
    ],
)
@pytest.mark.parametrize("bound", ["since", "until"])
def test_a_bad_datetime_is_refused(api: APIClient, bound: str, value: str) -> None:
    response = api.get("/v1/audit-events", {bound: value})

    assert_invalid(response, bound)


def test_a_key_without_the_scope_is_refused(
    vendor: Vendor, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(vendor, scopes=[Scope.CHAT, Scope.MEMORY_READ])

    response = client.get("/v1/audit-events")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


# --- the Django admin -------------------------------------------------------------------------


def test_the_admin_lists_and_filters_events(
    admin_client: Client, vendor: Vendor, other_vendor: Vendor
) -> None:
    event(vendor, Action.API_KEY_REVOKED, T0, target="revoked-key")
    event(vendor, Action.VENDOR_CREATED, T0, target="the-vendor")
    event(other_vendor, Action.VENDOR_CREATED, T0, target="elsewhere")

    everything = admin_client.get("/admin/tenants/auditevent/")
    revocations = admin_client.get(
        "/admin/tenants/auditevent/", {"action__exact": Action.API_KEY_REVOKED}
    )
    searched = admin_client.get("/admin/tenants/auditevent/", {"q": "the-vendor"})
    of_one_vendor = admin_client.get(
        "/admin/tenants/auditevent/", {"vendor__id__exact": str(other_vendor.pk)}
    )

    assert everything.status_code == 200
    assert b"revoked-key" in everything.content
    assert b"the-vendor" in everything.content
    assert b"revoked-key" in revocations.content
    assert b"the-vendor" not in revocations.content
    assert b"the-vendor" in searched.content
    assert b"revoked-key" not in searched.content
    assert b"elsewhere" in of_one_vendor.content
    assert b"the-vendor" not in of_one_vendor.content


def test_the_admin_cannot_add_an_event(admin_client: Client, vendor: Vendor) -> None:
    page = admin_client.get("/admin/tenants/auditevent/add/")
    posted = admin_client.post(
        "/admin/tenants/auditevent/add/",
        {"vendor": vendor.pk, "action": Action.VENDOR_CREATED, "actor": "me", "target": "x"},
    )

    assert page.status_code == 403
    assert posted.status_code == 403
    assert not AuditEvent.objects.filter(actor="me").exists()


def test_the_admin_shows_an_event_but_cannot_change_it(
    admin_client: Client, vendor: Vendor
) -> None:
    stored = event(vendor, Action.API_KEY_REVOKED, T0, target="original")
    url = f"/admin/tenants/auditevent/{stored.pk}/change/"

    page = admin_client.get(url)
    posted = admin_client.post(
        url,
        {
            "vendor": vendor.pk,
            "action": Action.VENDOR_CREATED,
            "actor": "me",
            "target": "rewritten",
            "data": "{}",
            "_save": "Save",
        },
    )

    assert page.status_code == 200
    assert b"original" in page.content
    assert b'name="_save"' not in page.content
    assert b"deletelink" not in page.content
    assert posted.status_code == 403
    stored.refresh_from_db()
    assert (stored.target, stored.action) == ("original", Action.API_KEY_REVOKED)


def test_the_admin_cannot_delete_an_event(admin_client: Client, vendor: Vendor) -> None:
    stored = event(vendor, Action.API_KEY_REVOKED, T0)

    page = admin_client.get(f"/admin/tenants/auditevent/{stored.pk}/delete/")
    posted = admin_client.post(f"/admin/tenants/auditevent/{stored.pk}/delete/", {"post": "yes"})
    # the list's bulk action is not offered either; asked for anyway, it deletes nothing
    bulk = admin_client.post(
        "/admin/tenants/auditevent/",
        {"action": "delete_selected", "_selected_action": [stored.pk], "post": "yes"},
    )

    assert page.status_code == 403
    assert posted.status_code == 403
    assert bulk.status_code in (200, 302)
    assert b"delete_selected" not in admin_client.get("/admin/tenants/auditevent/").content
    assert AuditEvent.objects.filter(pk=stored.pk).exists()
