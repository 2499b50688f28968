"""Django middleware of our own: refusing URLs PostgreSQL cannot store, and the CSP header.

Both run natively in either mode (sync for WSGI and tests, async under ASGI): a sync-only
middleware would cost every ASGI request a hop to a worker thread and back.
"""

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from infyn.lib.api.error_shape import error_body

GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


def _nul_in_url(request: HttpRequest) -> JsonResponse | None:
    query = unquote(request.META.get("QUERY_STRING", ""))
    if "\x00" in request.path or "\x00" in query:
        body = error_body("invalid_request", "The URL must not contain NUL characters.")
        return JsonResponse(body, status=400)
    return None


@sync_and_async_middleware
def reject_nul_in_url(get_response: GetResponse) -> GetResponse:
    """A NUL character in the path or the query string (``/v1/users/a%00b``, ``?q=%00``) is a
    400 in the API's error shape: every lookup would otherwise fail inside PostgreSQL, whose
    text cannot hold one, with a 500."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            refused = _nul_in_url(request)
            return refused if refused is not None else await get_response(request)

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        refused = _nul_in_url(request)
        return refused if refused is not None else get_response(request)  # type: ignore[return-value]

    return middleware


def _with_policy(response: HttpResponseBase) -> HttpResponseBase:
    if response.get("Content-Type", "").startswith("text/html"):
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
    return response


@sync_and_async_middleware
def content_security_policy(get_response: GetResponse) -> GetResponse:
    """Our HTML pages (the admin, the API docs, the demo) may load scripts only from this
    server: an injected script tag, or one from elsewhere, does not run. Inline styles are
    allowed (Swagger UI and the admin set style attributes); inline scripts are not."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(await get_response(request))

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        return _with_policy(get_response(request))  # type: ignore[arg-type]

    return middleware
