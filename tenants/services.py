"""Writes for vendors, API keys, end users and threads."""

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from infyn.lib.errors import DomainError
from tenants.api_keys import API_KEY_PREFIX, api_key_hash
from tenants.models import (
    ACTIVITY_RESOLUTION,
    ApiKey,
    AuditEvent,
    EndUser,
    Membership,
    Plan,
    Role,
    Thread,
    Vendor,
    all_scopes,
)
from tenants.widget_tokens import origin_normalize


class VendorInputError(DomainError):
    """A vendor's name or settings cannot be stored as given."""


# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_create(
    *,
    vendor: Vendor,
    name: str,
    actor: str,
    scopes: list[str] | None = None,
    created_by: User | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its full secret, which is never stored or shown again."""
    for _attempt in range(5):
        prefix = secrets.token_hex(6)
        raw_key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    vendor=vendor,
                    name=name,
                    prefix=prefix,
                    hashed_key=api_key_hash(raw_key),
                    scopes=scopes if scopes is not None else all_scopes(),
                    created_by=created_by,
                )
                AuditEvent.objects.create(
                    vendor=vendor,
                    action=AuditEvent.Action.API_KEY_CREATED,
                    actor=actor,
                    target=prefix,
                    data={"name": name, "scopes": api_key.scopes},
                )
        except IntegrityError:
            continue  # a prefix collision: 48 random bits make a second one vanishingly rare
        return api_key, raw_key
    raise RuntimeError("Could not allocate a unique API key prefix.")


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: str) -> ApiKey:
    if api_key.revoked_at is not None:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    AuditEvent.objects.create(
        vendor=api_key.vendor,
        action=AuditEvent.Action.API_KEY_REVOKED,
        actor=actor,
        target=api_key.prefix,
        data={"name": api_key.name},
    )
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record that the key was used, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def end_user_touch(*, end_user: EndUser, at: datetime) -> None:
    """Record that the end user spoke at ``at``, at most once per ACTIVITY_RESOLUTION: the
    retention policy's idle rule reads it. Its own statement, outside the caller's
    transaction, so that the end user's row is never locked while threads are (the order an
    erase takes them in)."""
    last = end_user.last_active_at
    if last is not None and at - last < ACTIVITY_RESOLUTION:
        return
    try:
        stale_before = at - ACTIVITY_RESOLUTION
    except OverflowError:  # a turn dated in year 1 (an import of odd history)
        stale_before = at
    EndUser.objects.filter(pk=end_user.pk).filter(
        Q(last_active_at__isnull=True) | Q(last_active_at__lt=stale_before)
    ).update(last_active_at=at)
    end_user.last_active_at = at


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "vendor"
    slug, suffix = base, 2
    while Vendor.objects.filter(slug=slug).exists():
        slug = f"{base}-{suffix}"
        suffix += 1
    return slug


@transaction.atomic
def vendor_create(
    *,
    name: str,
    actor: str,
    owner_email: str | None = None,
    plan: str = Plan.FREE,
    allowed_origins: Sequence[str] = (),
) -> tuple[Vendor, ApiKey, str]:
    """Create a vendor with its first API key (and owner, when an email is given)."""
    name = name.strip()
    if not name:
        raise VendorInputError("A vendor needs a name.")
    origins = origins_normalize(allowed_origins)
    vendor = Vendor.objects.create(
        name=name, slug=_unique_slug(name), plan=plan, allowed_origins=origins
    )
    owner = None
    if owner_email:
        user_model = get_user_model()
        owner, created = user_model.objects.get_or_create(
            email=owner_email, defaults={"username": owner_email}
        )
        if created:
            owner.set_unusable_password()
            owner.save(update_fields=["password"])
        Membership.objects.create(user=owner, vendor=vendor, role=Role.OWNER)
    AuditEvent.objects.create(
        vendor=vendor, action=AuditEvent.Action.VENDOR_CREATED, actor=actor, target=vendor.slug
    )
    api_key, raw_key = api_key_create(vendor=vendor, name="default", actor=actor, created_by=owner)
    return vendor, api_key, raw_key


def origins_normalize(origins: Sequence[str]) -> list[str]:
    """Web origins as the widget's origin check compares them; VendorInputError names a bad one."""
    normalized = []
    for origin in origins:
        value = origin_normalize(origin)
        if value is None:
            raise VendorInputError(f"Not a web origin (scheme://host[:port]): {origin!r}")
        normalized.append(value)
    return sorted(set(normalized))


def end_user_get_or_create(
    *, vendor: Vendor, external_id: str, metadata: dict[str, object] | None = None
) -> tuple[EndUser, bool]:
    """Return the vendor's end user with this external id, creating it on first sight.

    An existing end user is returned unchanged, so a retried create is harmless.
    """
    end_user, created = EndUser.objects.get_or_create(
        vendor=vendor, external_id=external_id, defaults={"metadata": metadata or {}}
    )
    return end_user, created


def thread_create(*, end_user: EndUser, external_id: str, title: str = "") -> Thread:
    return Thread.objects.create(end_user=end_user, external_id=external_id, title=title)


def thread_get_or_create(
    *, end_user: EndUser, external_id: str, title: str = ""
) -> tuple[Thread, bool]:
    return Thread.objects.get_or_create(
        end_user=end_user, external_id=external_id, defaults={"title": title}
    )
