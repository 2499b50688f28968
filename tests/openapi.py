"""Every API response a test sees must be one the OpenAPI schema documents (as Zulip does).

``tests/conftest.py`` wraps Django's test clients (and DRF's, which is one) so that each
response to a documented operation is checked: its status is documented for the operation,
its content type is documented for that status, and a JSON body validates against the
documented schema. A test that provokes an undocumented answer fails, naming the operation.
Paths the schema does not describe (unknown paths, methods an operation lacks, the admin)
are not checked.
"""

import functools
import json
import re
from typing import Any

from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_URI = "urn:infyn:openapi"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@functools.cache
def openapi_document() -> dict[str, Any]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    # Through JSON, as clients read it (lazy strings and tuples become plain values).
    parsed: dict[str, Any] = json.loads(json.dumps(document, default=str))
    return parsed


@functools.cache
def _registry() -> Registry:
    resource = Resource(contents=openapi_document(), specification=DRAFT202012)
    return Registry().with_resource(_URI, resource)


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def operation_path(path: str) -> str | None:
    """The schema's path template for a request path, or None when no route matches."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return "/" + _CONVERTER.sub(r"{\1}", match.route)


def check_response(*, method: str, path: str, status: int, content_type: str, body: Any) -> None:
    """Raise AssertionError unless the schema documents this response. ``body`` is the
    decoded JSON, or None when it was not read (a stream)."""
    template = operation_path(path)
    operations = openapi_document()["paths"].get(template or "", {})
    operation = operations.get(method.lower())
    if operation is None:
        return
    where = f"{method.upper()} {template} answered {status}"
    responses = operation["responses"]
    assert str(status) in responses, f"{where}, which the schema does not document"
    if status == 204:
        return
    media_type = content_type.split(";")[0].strip()
    content = responses[str(status)].get("content", {})
    assert media_type in content, f"{where} as {media_type}; documented: {sorted(content)}"
    if body is None or media_type != "application/json":
        return
    pointer = _pointer(
        "paths", template or "", method.lower(), "responses", str(status), "content", media_type
    )
    validator = Draft202012Validator({"$ref": f"{_URI}#/{pointer}/schema"}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
    assert not errors, f"{where} with a body the schema does not allow: " + "; ".join(
        f"{'/'.join(map(str, error.path)) or 'body'}: {error.message[:300]}" for error in errors[:5]
    )


def check_test_client_response(path: str, method: str, response: Any) -> None:
    """``check_response`` for a response of Django's (sync or async) test client."""
    if not (path.startswith("/v1/") or path == "/healthz"):
        return
    content_type = response.get("Content-Type", "")
    body = None
    if not getattr(response, "streaming", False) and content_type.startswith("application/json"):
        body = json.loads(response.content) if response.content else None
    check_response(
        method=method,
        path=path,
        status=response.status_code,
        content_type=content_type,
        body=body,
    )
