"""ASGI guards in front of Django and Channels: request body size, and our own host names
for websockets.

* ``BodyLimitMiddleware``: a body declared over INFYN_MAX_REQUEST_BYTES gets 413 in the API's
  error shape before any of it is read; a body sent in chunks (no Content-Length) is read
  here, up to the limit, and handed on with its length declared: Django would otherwise
  spool all of it first, and DRF, which reads a body by its declared length, took it for
  empty. Under daphne the same limit is enforced earlier still (``infyn.lib.daphne_limits``).
* ``AllowedHostsWebsocketMiddleware``: Django checks the Host header of HTTP requests against
  ALLOWED_HOSTS; Channels does not, so a websocket handshake naming another host is refused
  here (DNS rebinding: an attacker's name pointed at our address).
"""

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from infyn.lib.api.error_shape import error_body

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


async def _json_response(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int = settings.MAX_REQUEST_BYTES
        too_large = error_body(
            "payload_too_large", f"The request body is over the {limit}-byte limit."
        )
        declared = _header(scope, b"content-length")
        if declared is not None:
            if declared.strip().isdigit() and int(declared) > limit:
                await _json_response(send, 413, too_large)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:
                await _json_response(send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = [
            (key, value)
            for key, value in scope.get("headers", [])
            if key.lower() != b"transfer-encoding"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # what follows the body: the client's disconnect

        await self.app({**scope, "headers": headers}, replay, send)


def host_is_ours(host: str) -> bool:
    """Whether a Host header (``name[:port]``) names this server, by ALLOWED_HOSTS."""
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


class AllowedHostsWebsocketMiddleware:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            host = (_header(scope, b"host") or b"").decode("latin1")
            if not host_is_ours(host):
                # Closing before accepting refuses the handshake: the client sees a 403.
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)
