from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from infyn.lib.api.fields import NO_NUL_PATTERN


class CreatedCursorPagination(CursorPagination):
    """Stable pages over large tables: a cursor on (created_at, id), newest first.

    A cursor is opaque to clients but only base64 on the wire: one that was not made here
    (or was cut short) names no page, a 404 as DRF has it, never a query on whatever it
    decodes to. ``limit`` is 1 to 500; anything else is a 400 (DRF would use the default).
    """

    ordering: Any = ("-created_at", "-id")
    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return int(self.page_size or 50)
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"limit": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)  # NotFound for what is not a cursor at all
        # The position is a created_at as this class wrote it; anything else would reach
        # the database as a timestamp it cannot parse.
        position = cursor.position if cursor is not None else None
        if position is not None and not _is_timestamp(str(position)):
            raise _invalid_cursor()
        return cursor

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        cursor, limit = super().get_schema_operation_parameters(view)
        cursor["schema"]["pattern"] = NO_NUL_PATTERN
        limit["schema"].update(minimum=1, maximum=self.max_page_size)
        return [cursor, limit]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # DRF writes OpenAPI 3.0's "nullable"; the schema is 3.1, where null is a type.
        page: dict[str, Any] = super().get_paginated_response_schema(schema)
        for link in ("next", "previous"):
            page["properties"][link].pop("nullable", None)
            page["properties"][link]["type"] = ["string", "null"]
        return page


def _is_timestamp(text: str) -> bool:
    try:
        return parse_datetime(text) is not None
    except ValueError:  # shaped like one, but no such date ("2024-13-45T00:00:00")
        return False


def _invalid_cursor() -> exceptions.NotFound:
    return exceptions.NotFound("Invalid cursor: not one this API returned.")
