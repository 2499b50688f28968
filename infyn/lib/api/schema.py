"""The OpenAPI schema, made exact: every status an operation can answer, in the one error
shape, and every constraint the server enforces that JSON Schema can say.

drf-spectacular derives most of it from the views and serializers; this module adds what it
cannot know:

* the error responses of each operation, by what the operation takes (a key, a body, path or
  query parameters) and what it does (chat reaches a model server);
* request strings hold no NUL (PostgreSQL cannot store one), and strings the server refuses
  blank say so with a pattern, not just ``minLength``;
* path ids are single path segments.

The patterns are the server's own checks (``infyn.lib.api.fields``), so a client that
validates against the schema is not refused. ``tests/openapi.py`` checks every response the
tests see against this schema, and ``tests/infyn/test_schema_fuzz.py`` fuzzes the server with it.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from infyn.lib.api.fields import NO_NUL_PATTERN, NOT_BLANK_PATTERN

ERROR_COMPONENT = "Error"
JSON_VALUE_COMPONENT = "JsonValue"
# Path segments: anything but "/" (which separates them) and NUL.
PATH_SEGMENT_PATTERN = r"^[^\x00/]+$"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error shape of the whole API.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable."},
                "message": {"type": "string", "description": "For people."},
                "details": {"description": "Per-field messages (validation errors)."},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

# A JSON value whose strings and keys hold no NUL: what a stored free-form field accepts.
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value; no string or key may contain NUL.",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": f"#/components/schemas/{JSON_VALUE_COMPONENT}"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": {"$ref": f"#/components/schemas/{JSON_VALUE_COMPONENT}"},
        },
    ],
}

_ERRORS: dict[str, str] = {
    "400": "`invalid_request` (with `details` per field), `malformed_json`",
    "401": "`unauthenticated`: no API key, or one that is unknown or revoked",
    "403": "`forbidden`: the key lacks the scope this operation needs",
    "404": "`not_found`: no such resource for this key's vendor (another vendor's looks the same)",
    "413": "`payload_too_large`: the body is over INFYN_MAX_REQUEST_BYTES",
    "415": "`unsupported_media_type`: send `application/json`",
    "429": "`rate_limited`: over INFYN_API_RATE_LIMIT for this key; see `Retry-After`",
    "502": "`backend_rejected`: the model server refused the request (the message is stored)",
    "503": (
        "`overloaded` (no database connection free within DATABASE_POOL_TIMEOUT) or "
        "`database_unavailable`; retry after `Retry-After`"
    ),
}
_CHAT_503 = (
    "`backend_unavailable` (the model server is down or timed out; the message is stored), "
    "`overloaded` or `database_unavailable`"
)
# Operations that reach the model server.
_CHAT_PATHS = {"/v1/chat/completions", "/v1/chat"}


def sse_event_schema(data_description: str) -> dict[str, Any]:
    """One server-sent event of a ``text/event-stream`` response, as clients parse it."""
    return {
        "type": "object",
        "properties": {
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "description": data_description,
            },
            "event": {"type": "string"},
        },
        "required": ["data"],
    }


class InfynAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the string rules the server enforces on requests."""

    _direction: str | None = None  # of the serializer being mapped: "request" or "response"

    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(  # type: ignore[no-untyped-call]
            field, direction, bypass_extensions
        )
        lists = (serializers.ListSerializer, serializers.ListField)
        if isinstance(field, lists) and schema.get("type") == "array":
            if getattr(field, "allow_empty", True) is False:
                schema.setdefault("minItems", 1)
            max_length = getattr(field, "max_length", None)
            if max_length is not None:
                schema.setdefault("maxItems", max_length)
        return schema

    def _map_basic_serializer(self, serializer: Any, direction: str) -> Any:
        # drf-spectacular inserts field validators from here, without saying which way the
        # serializer goes; the string rules are about requests only.
        outer, self._direction = self._direction, direction
        try:
            schema = super()._map_basic_serializer(  # type: ignore[no-untyped-call]
                serializer, direction
            )
        finally:
            self._direction = outer
        if direction == "request" and getattr(serializer, "needs_one_field", False):
            # A partial update with nothing in it is refused: one of the fields is required.
            names = [name for name, field in serializer.fields.items() if not field.read_only]
            schema["anyOf"] = [{"required": [name]} for name in names]
        return schema

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        # A RegexValidator's pattern first: it is the field's own rule.
        super()._insert_field_validators(field, schema)  # type: ignore[no-untyped-call]
        if (
            self._direction == "request"
            and _is_plain_string(schema)
            and isinstance(field, serializers.CharField)
        ):
            schema["pattern"] = NO_NUL_PATTERN if field.allow_blank else NOT_BLANK_PATTERN


def _is_plain_string(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
    return is_string and not {"pattern", "enum", "format"} & set(schema)


def finish_schema(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: components, error responses, path patterns."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    schemas[JSON_VALUE_COMPONENT] = JSON_VALUE_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            _add_error_responses(path, method, operation)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["schema"].get("type") == "string":
                    # Ids are at most 255 characters: a longer one names nothing.
                    parameter["schema"].update(pattern=PATH_SEGMENT_PATTERN, maxLength=255)
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True  # every body here has a field to give
    return result


def _add_error_responses(path: str, method: str, operation: dict[str, Any]) -> None:
    parameters = operation.get("parameters", [])
    codes = []
    if operation.get("requestBody") or any(p.get("in") in ("query", "path") for p in parameters):
        codes.append("400")  # for path parameters: a NUL in the path
    if operation.get("security") != [{}] and "security" in operation:
        codes += ["401", "403"]
    if any(p.get("in") == "path" or p.get("name") == "cursor" for p in parameters):
        codes.append("404")  # for a cursor: one this API did not return names no page
    if operation.get("requestBody"):
        codes += ["413", "415"]
    if "401" in codes:
        codes.append("429")
    if path in _CHAT_PATHS:
        codes.append("502")
    codes.append("503")
    responses = operation.setdefault("responses", {})
    for code in codes:
        if code in responses:
            continue
        description = _CHAT_503 if code == "503" and path in _CHAT_PATHS else _ERRORS[code]
        responses[code] = {
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
            },
        }
