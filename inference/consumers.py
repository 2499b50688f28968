"""The chat widget's websocket: ``/ws/chat/?token=<widget token>``.

Frames are JSON text. The client sends ``{"type": "message", "content": ..., "thread_id"?}``,
``{"type": "cancel"}`` or ``{"type": "ping"}``; the server answers with the frames of
``inference.frames`` (``ready``, ``start``, ``token``, ``done``, ``error``) and ``pong``.

* Authentication is a widget token (never an API key), checked once when connecting,
  together with the page's origin. Refusals are sent after the handshake, as close codes
  4401 (token) and 4403 (origin), because browsers hide why a handshake failed.
* One generation at a time per connection; a second message while one runs is refused.
* Tokens are batched: the first piece goes out at once, later ones at most every
  ``INFYN_WS_FLUSH_INTERVAL_MS``. A connection whose unsent text passes
  ``INFYN_WS_MAX_UNSENT_BYTES`` is stopped rather than buffered without end.
* Closing the socket cancels the generation, and with it the upstream request.
* Database work runs on any thread of the default pool (``thread_sensitive=False``):
  Channels would otherwise queue every connection's work on one shared thread.
"""

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from billing.models import Surface
from inference.backends import BackendError, chat_backend
from inference.frames import done_frame, error_frame, start_frame, token_frame
from inference.services import ChatRequest, ChatRun, chat_prepare
from tenants.widget_tokens import (
    WidgetGrant,
    WidgetTokenError,
    origin_allowed,
    widget_token_verify,
)

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_SLOW_CLIENT = 4408


class SlowClientError(Exception):
    """The client does not take frames as fast as they are produced."""


# Channels ships no type information.
class ChatConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    grant: WidgetGrant | None = None
    thread_id: str | None = None
    generation: asyncio.Task[None] | None = None
    closing = False

    async def connect(self) -> None:
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        try:
            grant = await database_sync_to_async(widget_token_verify, thread_sensitive=False)(
                query.get("token", [""])[0]
            )
        except WidgetTokenError as exc:
            await self._refuse("unauthenticated", str(exc), CLOSE_UNAUTHORIZED)
            return
        headers = dict(self.scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin1") or None
        host = headers.get(b"host", b"").decode("latin1") or None
        if not origin_allowed(vendor=grant.vendor, origin=origin, host=host):
            message = f"This page's origin ({origin or 'none'}) may not use this vendor's widget."
            await self._refuse("forbidden_origin", message, CLOSE_FORBIDDEN_ORIGIN)
            return
        self.grant, self.thread_id = grant, grant.thread_external_id
        await self._send_frame(
            {"type": "ready", "user_id": grant.end_user_external_id, "thread_id": self.thread_id}
        )

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.generation is not None and not self.generation.done():
            self.generation.cancel()
            await asyncio.gather(self.generation, return_exceptions=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.grant is None:
            return  # refused connections are closing
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await self._send_frame(error_frame("invalid_frame", "Frames must be JSON objects."))
            return
        kind = frame.get("type")
        if kind == "message":
            await self._start_generation(frame)
        elif kind == "cancel":
            if self.generation is not None and not self.generation.done():
                self.generation.cancel()
        elif kind == "ping":
            await self._send_frame({"type": "pong"})
        else:
            await self._send_frame(
                error_frame("invalid_frame", "Unknown frame type; use message, cancel or ping.")
            )

    async def _start_generation(self, frame: dict[str, Any]) -> None:
        content, thread_id = frame.get("content"), frame.get("thread_id")
        problem = None
        if not isinstance(content, str) or not content.strip():
            problem = "`content` must be a non-empty string."
        elif len(content) > settings.CHAT_MAX_MESSAGE_CHARS:
            problem = f"`content` is longer than {settings.CHAT_MAX_MESSAGE_CHARS} characters."
        elif thread_id is not None and (not isinstance(thread_id, str) or len(thread_id) > 255):
            problem = "`thread_id` must be a string of at most 255 characters."
        if problem:
            await self._send_frame(error_frame("invalid_request", problem))
            return
        if self.generation is not None and not self.generation.done():
            await self._send_frame(
                error_frame("busy", "A reply is still being generated; cancel it or wait.")
            )
            return
        assert isinstance(content, str)
        self.generation = asyncio.create_task(self._generate(content, thread_id))

    async def _generate(self, content: str, thread_id: str | None) -> None:
        assert self.grant is not None
        started = time.perf_counter()
        # The first use in a process loads the model's tokenizer: not on the event loop.
        backend = await sync_to_async(chat_backend, thread_sensitive=False)()
        request = ChatRequest(
            vendor=self.grant.vendor,
            api_key_id=self.grant.api_key_id,
            end_user_external_id=self.grant.end_user_external_id,
            # A token bound to a thread keeps the widget in it.
            thread_external_id=self.grant.thread_external_id or thread_id or self.thread_id,
            content=content,
            surface=Surface.WEBSOCKET,
            max_tokens=settings.LLM_DEFAULT_MAX_TOKENS,
        )
        run: ChatRun | None = None
        try:
            prepared = await database_sync_to_async(chat_prepare, thread_sensitive=False)(
                request=request, model=backend.model, started=started
            )
            self.thread_id = prepared.thread.external_id
            await self._send_frame(start_frame(prepared))
            run = ChatRun(prepared=prepared, backend=backend)
            await run.start()
            await self._stream(run)
        except BackendError as exc:
            await self._send_frame(error_frame(exc.code, exc.message))
            if run is not None and run.ended:
                await run.finished()  # the next message sees this one's partial reply
            return
        except SlowClientError:
            if run is not None and run.ended:
                await run.finished()
            await self._send_frame(
                error_frame("slow_client", "The connection is too slow for the reply.")
            )
            await self.close(code=CLOSE_SLOW_CLIENT)
            return
        except asyncio.CancelledError:
            if not self.closing:  # a cancel frame: the socket is open, say how it ended
                if run is not None and run.ended:
                    await self._done(run)
                else:
                    await self._send_frame(
                        error_frame("cancelled", "Cancelled before the reply started.")
                    )
            raise
        if run is not None:
            await self._done(run)

    async def _stream(self, run: ChatRun) -> None:
        """Send the reply's pieces, batched so that tiny frames do not swamp the client.

        A piece goes out at once when the last frame is older than the flush interval;
        otherwise it waits, with any others, for a timer at the end of the interval, so no
        text is held back longer than that, however slowly the next piece comes.
        """
        interval = settings.WS_FLUSH_INTERVAL_MS / 1000
        pending: list[str] = []
        last_flush = -interval
        timer: asyncio.Task[None] | None = None

        async def flush() -> None:
            nonlocal last_flush
            if pending:
                text = "".join(pending)
                pending.clear()
                last_flush = time.perf_counter()
                await self._send_frame(token_frame(text))

        async def flush_after(delay: float) -> None:
            await asyncio.sleep(delay)
            # Shielded: cancelling the timer must never drop text it has taken to send.
            await asyncio.shield(flush())

        try:
            async with run.deltas() as pieces:
                async for piece in pieces:
                    pending.append(piece)
                    if sum(len(p.encode()) for p in pending) > settings.WS_MAX_UNSENT_BYTES:
                        raise SlowClientError
                    wait = interval - (time.perf_counter() - last_flush)
                    if wait <= 0:
                        await flush()
                    elif timer is None or timer.done():
                        timer = asyncio.create_task(flush_after(wait))
        finally:
            if timer is not None:
                timer.cancel()
        await flush()

    async def _done(self, run: ChatRun) -> None:
        outcome = await run.finished()
        await self._send_frame(done_frame(run.prepared, outcome, run.backend.model))

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def _refuse(self, code: str, message: str, close_code: int) -> None:
        await self._send_frame(error_frame(code, message))
        await self.close(code=close_code)
