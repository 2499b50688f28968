"""Limits on the JSON the API reads (HTTP bodies, websocket frames), and the NUL rule.

A document nested thousands of levels deep exhausts Python's stack in the parser, the
serializers or the renderer, so nesting is limited for every document, up front. NaN and
Infinity are refused too: they are not JSON.

PostgreSQL's ``text`` and ``jsonb`` cannot store U+0000: a NUL in a value that is stored would
fail deep in a write with a 500. Fields whose values are stored check them
(``json_nul_path``); properties a request carries beyond its schema are ignored, whatever
they hold.
"""

import json
from typing import Any, NoReturn

MAX_DEPTH = 32


class JsonLimitError(ValueError):
    """The document breaks a limit at ``path`` ("" for the document itself)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON.")


def json_loads_limited(text: str | bytes) -> Any:
    """``json.loads`` that raises ``JsonLimitError`` for nesting deeper than MAX_DEPTH, and
    ``ValueError`` for what is not JSON at all."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # far deeper than MAX_DEPTH: the parser ran out of stack
        raise JsonLimitError("", f"Nested deeper than {MAX_DEPTH} levels.") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise JsonLimitError("", f"Nested deeper than {MAX_DEPTH} levels.")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def json_nul_path(value: Any) -> str | None:
    """Where in ``value`` (decoded JSON) a NUL character is, as ``a.b[2]``, or None."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "value"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    return path or "keys"
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
    return None
