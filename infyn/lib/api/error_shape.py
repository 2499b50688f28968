"""The API's one error shape, with no framework imports (websocket frames use it too)."""

from typing import Any


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}
