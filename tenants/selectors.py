"""Reads for tenants. Everything an API caller can reach is scoped to its vendor."""

import hmac
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet

from tenants.api_keys import api_key_hash, api_key_split
from tenants.models import ApiKey, AuditEvent, EndUser, Thread, Vendor

# Compared against when the prefix is unknown, so that a miss costs the same as a hit.
_NO_SUCH_KEY_HASH = "0" * 64


def api_key_from_secret(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, compared in constant time; None otherwise."""
    prefix = api_key_split(raw_key)
    api_key = api_key_get_by_prefix(prefix=prefix) if prefix else None
    expected = api_key.hashed_key if api_key is not None else _NO_SUCH_KEY_HASH
    matches = hmac.compare_digest(api_key_hash(raw_key), expected)
    if api_key is None or not matches or not api_key.is_active:
        return None
    return api_key


def end_users_list(*, vendor: Vendor) -> QuerySet[EndUser]:
    return EndUser.objects.filter(vendor=vendor)


def end_user_get(*, vendor: Vendor, external_id: str) -> EndUser | None:
    return EndUser.objects.filter(vendor=vendor, external_id=external_id).first()


def threads_list(*, end_user: EndUser) -> QuerySet[Thread]:
    return Thread.objects.filter(end_user=end_user)


def vendor_get_by_slug(*, slug: str) -> Vendor | None:
    return Vendor.objects.filter(slug=slug).first()


def api_key_get_by_prefix(*, prefix: str) -> ApiKey | None:
    return ApiKey.objects.select_related("vendor").filter(prefix=prefix).first()


def thread_get(*, end_user: EndUser, external_id: str) -> Thread | None:
    return Thread.objects.filter(end_user=end_user, external_id=external_id).first()


def api_keys_active(*, key_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these keys exist and are not revoked."""
    return set(
        ApiKey.objects.filter(pk__in=list(key_ids), revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def audit_events_list(
    *,
    vendor: Vendor,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The vendor's audit events, optionally of one action, from ``since`` up to ``until``.

    The window is half-open (``since`` included, ``until`` not), so consecutive windows
    sharing a bound never list an event twice.
    """
    events = AuditEvent.objects.filter(vendor=vendor)
    if action is not None:
        events = events.filter(action=action)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events
