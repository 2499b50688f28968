from collections.abc import Mapping
from io import BytesIO
from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from infyn.lib.api.errors import PayloadTooLarge


class BoundedJSONParser(JSONParser):
    """JSON parser that refuses bodies over INFYN_MAX_REQUEST_BYTES with a 413.

    DRF reads the request as a stream, which bypasses Django's own size check, so the
    limit is enforced here, for bodies with and without a Content-Length.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit: int = settings.MAX_REQUEST_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The request body is over the {limit}-byte limit.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is over the {limit}-byte limit.")
        return super().parse(BytesIO(body), media_type, parser_context)
