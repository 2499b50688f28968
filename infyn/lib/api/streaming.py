"""A streamed response that stays streamed under ASGI, for bodies read from the database."""

from collections.abc import AsyncIterator, Generator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse


class SyncIteratorStreamingResponse(StreamingHttpResponse):
    """A ``StreamingHttpResponse`` over a generator, sent part by part under ASGI too.

    Django serves a synchronous iterator to an ASGI server by reading it to the end into a
    list first, which holds the whole body in memory. This pulls one part at a time instead,
    in the request's own thread (``sync_to_async`` is thread-sensitive by default), so the
    generator keeps its database connection and any transaction it opened. Under WSGI and in
    the test client, Django's own iteration already goes part by part.
    """

    def __init__(self, parts: Generator[str, None, None], **kwargs: Any) -> None:
        super().__init__(parts, **kwargs)
        self._parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pull = sync_to_async(self._next_part)
        try:
            while (part := await pull()) is not None:
                yield part
        finally:
            # A client gone mid-stream: the generator's clean-up (its cursors, its
            # transaction) must run in the thread that opened them.
            await sync_to_async(self._parts.close)()

    def _next_part(self) -> bytes | None:
        part = next(self._parts, None)
        return None if part is None else self.make_bytes(part)
