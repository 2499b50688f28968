"""Serializer fields whose rules hold at every entry point (REST, widget tokens, websocket).

Where a rule is a pattern, the same pattern is the check and the OpenAPI schema's
``pattern`` (drf-spectacular reads RegexValidators; ``infyn.lib.api.schema`` adds the rest),
so a client that validates against the schema is never refused by the server.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from infyn.lib.api.json_limits import json_nul_path

EXTERNAL_ID_MAX_LENGTH = 255
# What str.strip() removes (str.isspace), spelled out: `\s` means different things to the
# validators a client may use (ECMA, Python's re with and without re.ASCII).
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# No string anywhere may hold NUL: PostgreSQL's text and jsonb cannot store it.
NO_NUL_PATTERN = r"^[^\x00]*$"
# Not blank: some character that is neither NUL nor whitespace.
NOT_BLANK_PATTERN = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"
# A vendor's id for an end user or thread: no control characters or "/" (ids are path
# segments), and no whitespace at either end.
_ID_EDGE = rf"[^\x00-\x1f\x7f/{WHITESPACE}]"
EXTERNAL_ID_PATTERN = rf"^{_ID_EDGE}(?:[^\x00-\x1f\x7f/]*{_ID_EDGE})?$"


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into strings."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class ExternalIdField(StrictCharField):
    """A vendor's own id for an end user or a thread, as it must look wherever it is given.

    Ids name resources in paths (``/v1/users/{id}/threads/{thread}/messages``), so every id
    accepted anywhere (chat, widget tokens, imports, the websocket) must be reachable there:
    1 to 255 characters, no "/" or control characters, no whitespace at either end.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EXTERNAL_ID_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(
            RegexValidator(
                re.compile(EXTERNAL_ID_PATTERN.removesuffix("$") + r"\Z"),
                "Must not contain '/' or control characters, or start or end with whitespace.",
            )
        )


class StrictBooleanField(serializers.BooleanField):
    """A BooleanField that takes JSON ``true`` and ``false`` only, not "yes", "on" or 1."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictFloatField(serializers.FloatField):
    """A FloatField that refuses booleans (JSON ``true`` is not the number 1) and strings."""

    default_error_messages = {"invalid": "Must be a number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses booleans and strings in JSON bodies."""

    default_error_messages = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return int(super().to_internal_value(data))


# RFC 3339's date-time, which is what OpenAPI's "date-time" format means. Python's parsers
# take more ("2024-01-01", week dates, any Unicode digit) and less (fractions past six digits).
_RFC3339_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


class DateTimeBoundField(serializers.DateTimeField):
    """An RFC 3339 date-time that bounds a query (``since``, ``until``), as a UTC datetime.

    Every date-time the schema allows is taken. One that its offset moves past the years
    Python holds (0001-01-01T00:00:00+01:00 is in year 0 in UTC) becomes the earliest or
    the latest datetime there is, which bounds a query just as well. Fractions of a second
    past microseconds are dropped.
    """

    default_error_messages = {
        "invalid": "Must be an RFC 3339 date-time, such as 2026-01-31T09:30:00Z.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        match = _RFC3339_DATE_TIME.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            self.fail("invalid")
        year, month, day, hour, minute, second, fraction, sign, off_hours, off_minutes = (
            match.groups()
        )
        try:
            offset = timedelta(hours=int(off_hours or 0), minutes=int(off_minutes or 0))
            local = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second),
                int((fraction or "")[:6].ljust(6, "0")),
                tzinfo=timezone(-offset if sign == "-" else offset),
            )
        except ValueError:  # a 13th month, 30 February, hour 24, a leap second, offset 24:00
            self.fail("invalid")
        try:
            return local.astimezone(UTC)
        except OverflowError:
            earliest_or_latest = datetime.min if local.year == 1 else datetime.max
            return earliest_or_latest.replace(tzinfo=UTC)


def no_nul_anywhere(value: Any) -> None:
    """Validator for a stored JSON value (metadata): no NUL in any string or key."""
    path = json_nul_path(value)
    if path is not None:
        raise serializers.ValidationError({path: ["Must not contain NUL characters."]})


@extend_schema_field(
    {
        "type": "object",
        "propertyNames": {"pattern": NO_NUL_PATTERN},
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
    }
)
class JsonObjectField(serializers.DictField):
    """A free-form JSON object that is stored (jsonb): no NUL in any string or key."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(no_nul_anywhere)
