"""Request bodies over INFYN_MAX_REQUEST_BYTES are refused while daphne reads them.

Daphne (through Twisted) reads a whole request body, to memory or a temporary file, before
the ASGI application sees the request at all: a 400 MB upload was received in full, key or
no key, only to be refused afterwards. This request class answers 413 as soon as the
declared length is over the limit, or as soon as a chunked body passes it, and closes the
connection without reading the rest. ``install()`` makes daphne use it (and take longer
request lines); ``infyn.asgi`` calls it, so it applies however daphne is started. The ASGI
middleware (``infyn.lib.request_limits``) keeps the same limit under any other server.
"""

import json
from typing import Any

from daphne import http_protocol
from django.conf import settings
from twisted.web import http

from infyn.lib.api.error_shape import error_body


def _limit() -> int:
    return int(settings.MAX_REQUEST_BYTES)


def payload_too_large_body() -> bytes:
    message = f"The request body is over the {_limit()}-byte limit."
    return json.dumps(error_body("payload_too_large", message)).encode()


class BodyLimitedWebRequest(http_protocol.WebRequest):  # type: ignore[misc]
    _refused = False
    _received = 0

    def gotLength(self, length: int | None) -> None:  # noqa: N802 (Twisted's name)
        super().gotLength(length)
        if length is not None and length > _limit():
            self._refuse()

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802
        if self._refused:
            return
        self._received += len(data)
        if self._received > _limit():
            self._refuse()
            return
        super().handleContentChunk(data)

    def process(self) -> Any:
        if self._refused:
            return None
        return super().process()

    def _refuse(self) -> None:
        self._refused = True
        # The answer goes out now, so no "100 Continue" may follow it.
        self.requestHeaders.removeHeader(b"Expect")
        body = payload_too_large_body()
        self.channel.transport.write(
            b"HTTP/1.1 413 Payload Too Large\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Connection: close\r\n\r\n" + body
        )
        self.channel.loseConnection()


# The request line, and the request line and headers together. Twisted's defaults, 16 KiB
# each, are less than a GET that the schema allows can take once percent-encoded (a
# 2,000-character query of non-ASCII text is up to 24 KB); past them, Twisted drops the
# connection without an answer.
MAX_REQUEST_HEAD_BYTES = 64 * 1024


def install() -> None:
    """Make daphne build its HTTP requests from ``BodyLimitedWebRequest``, and take request
    heads up to MAX_REQUEST_HEAD_BYTES."""
    http_protocol.WebRequest = BodyLimitedWebRequest
    http.HTTPChannel.MAX_LENGTH = MAX_REQUEST_HEAD_BYTES  # one line
    http.HTTPChannel.totalHeadersSize = MAX_REQUEST_HEAD_BYTES
