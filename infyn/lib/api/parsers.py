from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from infyn.lib.api.exceptions import PayloadTooLarge
from infyn.lib.api.json_limits import JsonLimitError, json_loads_limited


class BoundedJSONParser(JSONParser):
    """JSON parser that refuses bodies over INFYN_MAX_REQUEST_BYTES with a 413, and documents
    nested deeper than ``json_limits.MAX_DEPTH`` with a 400.

    The ASGI middleware (``infyn.lib.request_limits``) refuses large bodies before they are read;
    this is the same limit for any other way a request reaches DRF (tests, WSGI).
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit: int = settings.MAX_REQUEST_BYTES
        context = parser_context or {}
        request = context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The request body is over the {limit}-byte limit.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is over the {limit}-byte limit.")
        try:
            return json_loads_limited(
                body.decode(context.get("encoding", settings.DEFAULT_CHARSET))
            )
        except JsonLimitError as exc:
            raise exceptions.ValidationError({exc.path or "body": [exc.problem]}) from None
        except ValueError as exc:  # not JSON, or not in the declared encoding
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
