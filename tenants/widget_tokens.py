"""Short-lived signed tokens that let a browser chat as one end user, without an API key.

A vendor's backend mints a token with its API key (``POST /v1/widget-tokens``) and hands it
to its page; the chat widget opens the websocket with it. The token is signed with the
server's secret (so it cannot be forged or altered) and carries the vendor, the end user,
an optional thread, the key that minted it and an expiry. Nothing is stored: a token dies
when it expires or when the key that minted it is revoked.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.http.request import validate_host

from tenants.models import ApiKey, Vendor

_SALT = "infyn.widget-token.v1"


class WidgetTokenError(Exception):
    """The token is malformed, forged, expired, or its key was revoked."""


@dataclass(frozen=True)
class WidgetGrant:
    vendor: Vendor
    api_key_id: UUID
    end_user_external_id: str
    thread_external_id: str | None
    expires_at: datetime


def widget_token_mint(
    *,
    api_key: ApiKey,
    end_user_external_id: str,
    thread_external_id: str | None = None,
    ttl_seconds: int | None = None,
) -> tuple[str, datetime]:
    """A token for ``end_user_external_id`` of the key's vendor, and when it expires."""
    ttl = min(
        ttl_seconds or settings.WIDGET_TOKEN_TTL_SECONDS, settings.WIDGET_TOKEN_MAX_TTL_SECONDS
    )
    expires = int(time.time()) + ttl
    payload = {
        "v": str(api_key.vendor_id),
        "k": str(api_key.pk),
        "u": end_user_external_id,
        "t": thread_external_id,
        "e": expires,
    }
    token = signing.dumps(payload, salt=_SALT, compress=True)
    return token, datetime.fromtimestamp(expires, tz=UTC)


def widget_token_verify(token: str) -> WidgetGrant:
    """The grant a token carries; ``WidgetTokenError`` says why it is refused."""
    try:
        payload = signing.loads(token, salt=_SALT)
        expires = int(payload["e"])
        vendor_id, key_id = UUID(payload["v"]), UUID(payload["k"])
        end_user = str(payload["u"])
        thread = payload.get("t")
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise WidgetTokenError("The widget token is not valid.") from exc
    if expires < time.time():
        raise WidgetTokenError("The widget token has expired; ask the page for a new one.")
    api_key = ApiKey.objects.select_related("vendor").filter(pk=key_id, vendor_id=vendor_id).first()
    if api_key is None or not api_key.is_active:
        raise WidgetTokenError("The key that minted this widget token was revoked.")
    return WidgetGrant(
        vendor=api_key.vendor,
        api_key_id=api_key.pk,
        end_user_external_id=end_user,
        thread_external_id=str(thread) if thread else None,
        expires_at=datetime.fromtimestamp(expires, tz=UTC),
    )


def origin_normalize(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case, or None when ``origin`` is not one."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        return None
    default_port = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        return None
    suffix = f":{port}" if port and port != default_port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"


def origin_allowed(*, vendor: Vendor, origin: str | None) -> bool:
    """Whether a page at ``origin`` may use the vendor's widget tokens.

    Allowed: the vendor's listed origins, and pages served by infyn itself (the demo page),
    whose host is one of the names in ALLOWED_HOSTS. Never the Host header of the request:
    with DNS rebinding an attacker's page sends its own name as both Host and Origin. A
    wildcard ("*") in ALLOWED_HOSTS names no host of ours here.
    """
    if not origin:
        return False
    normalized = origin_normalize(origin)
    if normalized is None:
        return False
    hostname = urlsplit(normalized).hostname or ""
    if ":" in hostname:  # IPv6, bracketed as in ALLOWED_HOSTS
        hostname = f"[{hostname}]"
    own_hosts = [host for host in settings.ALLOWED_HOSTS if host != "*"]
    if validate_host(hostname, own_hosts):
        return True
    allowed = {origin_normalize(item) for item in vendor.allowed_origins}
    return normalized in allowed
