"""The demo page: infyn's chat widget on a page served by infyn, as the demo vendor.

Each browser is its own end user of the demo vendor, named by a signed cookie. The page plays
the part of a vendor's site and ``demo_token`` the part of its backend: it mints widget tokens
with the demo vendor's API key, which a real vendor does with ``POST /v1/widget-tokens``.
"""

import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from inference.frames import WEBSOCKET_PATH
from infyn.lib.api.error_shape import error_body
from tenants.demo import DEMO_SLUG
from tenants.models import Scope
from tenants.selectors import vendor_get_by_slug
from tenants.widget_tokens import widget_token_mint

DEMO_USER_COOKIE = "infyn_demo_user"
DEMO_USER_COOKIE_SALT = "infyn.demo-user.v1"
_COOKIE_MAX_AGE = 365 * 24 * 3600


def _demo_user_id(request: HttpRequest) -> str | None:
    user_id = request.get_signed_cookie(DEMO_USER_COOKIE, default=None, salt=DEMO_USER_COOKIE_SALT)
    return user_id or None


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    # The page shows the snippet a vendor would paste, with this server's address in it.
    script_url = request.build_absolute_uri(static("widget/infyn-widget.js"))
    response = render(request, "demo/index.html", {"script_url": script_url})
    if _demo_user_id(request) is None:
        response.set_signed_cookie(
            DEMO_USER_COOKIE,
            f"demo-{secrets.token_hex(8)}",
            salt=DEMO_USER_COOKIE_SALT,
            max_age=_COOKIE_MAX_AGE,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


# Exempt from CSRF because a forged request gains nothing: the token is minted for the
# identity in the caller's own signed cookie (SameSite=Lax, so a cross-site POST does not even
# carry it), nothing is written, and another site cannot read the answer (no CORS). The widget
# is generic and knows nothing of Django's CSRF token, so it could not send one anyway.
@csrf_exempt
@never_cache
@require_POST
def demo_token(request: HttpRequest) -> JsonResponse:
    user_id = _demo_user_id(request)
    if user_id is None:
        return _error(403, "demo_cookie_missing", "Open /demo/ first: it names your demo user.")
    vendor = vendor_get_by_slug(slug=DEMO_SLUG)
    api_key = None
    if vendor is not None:
        # The oldest active key that may chat: the one ensure_demo_vendor created.
        active = vendor.api_keys.filter(revoked_at__isnull=True, scopes__contains=[Scope.CHAT])
        api_key = active.order_by("created_at").first()
    if api_key is None:
        return _error(503, "demo_unavailable", "Run `python manage.py ensure_demo_vendor` first.")
    token, expires_at = widget_token_mint(api_key=api_key, end_user_external_id=user_id)
    return JsonResponse(
        {"token": token, "expires_at": expires_at.isoformat(), "websocket_url": WEBSOCKET_PATH}
    )
