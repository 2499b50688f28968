"""One JSON error shape for the whole API: ``{"error": {"code": ..., "message": ...}}``.

Validation errors add ``details``, the per-field messages, so a client can point at
the offending field.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from infyn.lib.api.error_shape import error_body
from infyn.lib.api.exceptions import database_error_as_api_error
from infyn.lib.errors import DomainError

logger = logging.getLogger(__name__)

_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_json",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid_request",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif (unavailable := database_error_as_api_error(exc)) is not None:
        logger.warning("api: %s: %s", unavailable.default_code, exc)
        exc = unavailable
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message), status=exc.status_code)
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # an unexpected error: Django's 500 handling takes over

    code = _code_for(exc)
    if isinstance(exc, exceptions.ValidationError):
        message = first_validation_message(exc.detail) or "The request is invalid."
        response.data = error_body(code, message, details=exc.detail)
    else:
        response.data = error_body(code, _text(exc.detail))
    return response


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/v1/")


# Exempt: it answers every unknown /v1/ path, whatever the method, and a DELETE to one must
# be a 404 in the API's shape, not CSRF's 403 page (API keys, not cookies, authenticate here).
@csrf_exempt
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 in the API's error shape under /v1/, Django's page elsewhere."""
    if is_api_path(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request):
        body = error_body("server_error", "An unexpected error occurred.")
        return JsonResponse(body, status=500)
    return defaults.server_error(request)


def _code_for(exc: exceptions.APIException) -> str:
    for exc_type in type(exc).__mro__:
        if exc_type in _CODES:
            return _CODES[exc_type]
    return str(getattr(exc, "default_code", "error"))


def _text(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _text(detail[0])
    if isinstance(detail, dict) and detail:
        return _text(next(iter(detail.values())))
    return str(detail)


def first_validation_message(detail: Any, path: str = "") -> str | None:
    """Flatten the first field error into ``field: message`` for the top-level message."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a list's failing items, by index
                nested = f"{path}[{key}]"
            else:
                field = key if key != "non_field_errors" else ""
                nested = f"{path}.{field}" if path and field else (field or path)
            found = first_validation_message(value, nested)
            if found:
                return found
        return None
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            nested = path if not isinstance(value, dict | list) else f"{path}[{index}]"
            found = first_validation_message(value, nested)
            if found:
                return found
        return None
    return f"{path}: {detail}" if path else str(detail)
