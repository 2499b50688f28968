"""The chat widget's websocket: ``/ws/chat/?token=<widget token>``.

Frames are JSON text. The client sends ``{"type": "message", "content": ..., "thread_id"?}``,
``{"type": "cancel"}`` or ``{"type": "ping"}``; the server answers with the frames of
``inference.frames`` (``ready``, ``start``, ``token``, ``done``, ``error``) and ``pong``.

* Authentication is a widget token (never an API key), checked when connecting, together
  with the page's origin. Refusals are sent after the handshake, as close codes 4401
  (token) and 4403 (origin), because browsers hide why a handshake failed. Revoking the
  key behind the token closes its open connections with 4401 within
  ``INFYN_WS_REVOCATION_CHECK_SECONDS`` (``inference.key_watch``).
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
from inference import key_watch
from inference.api.serializers import ChatInput, WidgetMessageSerializer
from inference.backends import ChatError, chat_backend, chat_token_counter
from inference.chat.prepare import ChatRequest, chat_prepare
from inference.chat.run import ChatRun, ReplyAbandoned, chat_settled
from inference.frames import done_frame, error_frame, start_frame, token_frame
from infyn.lib.api.errors import first_validation_message
from infyn.lib.api.exceptions import database_error_as_api_error
from infyn.lib.api.json_limits import JsonLimitError, json_loads_limited
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


class SlowClientError(ReplyAbandoned):
    """The client does not take frames as fast as they are produced."""


# Channels ships no type information.
class ChatConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    # Frames go straight to this connection's own socket, so no channel layer is needed: with
    # one, every connection would block on Redis for messages that never come, and a Redis
    # outage would break every open widget.
    channel_layer_alias = None
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
        if not origin_allowed(vendor=grant.vendor, origin=origin):
            message = f"This page's origin ({origin or 'none'}) may not use this vendor's widget."
            await self._refuse("forbidden_origin", message, CLOSE_FORBIDDEN_ORIGIN)
            return
        self.grant, self.thread_id = grant, grant.thread_external_id
        key_watch.watch(grant.api_key_id, self)
        await self._send_frame(
            {"type": "ready", "user_id": grant.end_user_external_id, "thread_id": self.thread_id}
        )

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.grant is not None:
            key_watch.unwatch(self.grant.api_key_id, self)
        await self._stop_generation()

    async def key_revoked(self) -> None:
        """The key that minted this connection's token was revoked: stop, and say so."""
        if self.closing:
            return
        self.closing = True
        await self._stop_generation()
        await self._refuse(
            "unauthenticated", "The key behind this widget token was revoked.", CLOSE_UNAUTHORIZED
        )

    async def _stop_generation(self) -> None:
        """Cancel the running generation and wait until its record has landed."""
        if self.generation is not None and not self.generation.done():
            self.generation.cancel()
            await asyncio.gather(self.generation, return_exceptions=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.grant is None or self.closing:
            return  # refused or revoked connections are closing
        try:
            frame = json_loads_limited(text_data or "")
        except JsonLimitError as exc:  # as for an HTTP body nested too deep: invalid_request
            details = {exc.path or "frame": [exc.problem]}
            await self._send_frame(error_frame("invalid_request", str(exc), details))
            return
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
        # The same rules as the REST chat endpoints, from the same serializer fields.
        message = WidgetMessageSerializer(data=frame)
        if not message.is_valid():
            problem = first_validation_message(message.errors) or "The message is invalid."
            await self._send_frame(error_frame("invalid_request", problem, message.errors))
            return
        if self.generation is not None and not self.generation.done():
            await self._send_frame(
                error_frame("busy", "A reply is still being generated; cancel it or wait.")
            )
            return
        assert self.grant is not None  # receive() takes no frames before the grant
        chat = message.chat_input(user_id=self.grant.end_user_external_id)
        self.generation = asyncio.create_task(self._generate(chat))

    async def _generate(self, chat: ChatInput) -> None:
        assert self.grant is not None
        started = time.perf_counter()
        # The first use in a process loads the model's tokenizer: not on the event loop.
        backend = await sync_to_async(chat_backend, thread_sensitive=False)()
        request = ChatRequest(
            vendor=self.grant.vendor,
            api_key_id=self.grant.api_key_id,
            end_user_external_id=chat.user_id,
            # A token bound to a thread keeps the widget in it.
            thread_external_id=self.grant.thread_external_id or chat.thread_id or self.thread_id,
            content=chat.content,
            surface=Surface.WEBSOCKET,
            max_tokens=chat.max_tokens,
            temperature=chat.temperature,
        )
        run: ChatRun | None = None
        try:
            prepared = await database_sync_to_async(chat_prepare, thread_sensitive=False)(
                request=request, model=backend.model, counter=chat_token_counter(), started=started
            )
            self.thread_id = prepared.thread.external_id
            await self._send_frame(start_frame(prepared))
            run = ChatRun(prepared=prepared, backend=backend)
            await run.start()
            await self._stream(run)
            await self._done(run)
        except ChatError as exc:  # the model failed, or storing the reply did
            await self._send_frame(error_frame(exc.code, exc.message))
            if run is not None and run.ended:
                await chat_settled(run)  # the next message sees this one's partial reply
        except SlowClientError:
            if run is not None and run.ended:
                await chat_settled(run)
            await self._send_frame(
                error_frame("slow_client", "The connection is too slow for the reply.")
            )
            await self.close(code=CLOSE_SLOW_CLIENT)
        except asyncio.CancelledError:
            if not self.closing:  # a cancel frame: the socket is open, say how it ended
                await self._cancelled(run)
            raise
        except Exception as exc:  # the database, or a bug: the client still hears of it
            await self._turn_failed(exc, run)

    async def _cancelled(self, run: ChatRun | None) -> None:
        if run is None or not run.ended:
            await self._send_frame(error_frame("cancelled", "Cancelled before the reply started."))
            return
        try:
            await self._done(run)
        except ChatError as exc:
            await self._send_frame(error_frame(exc.code, exc.message))

    async def _turn_failed(self, exc: Exception, run: ChatRun | None) -> None:
        """End a turn that failed for any reason but the model's with an ``error`` frame,
        after its record (when the reply had started) has landed."""
        unavailable = database_error_as_api_error(exc)
        if unavailable is not None:
            logger.warning("websocket: %s: %s", unavailable.default_code, exc)
            frame = error_frame(unavailable.default_code, str(unavailable.detail))
        else:
            logger.exception("websocket: a chat turn failed")
            frame = error_frame("server_error", "An unexpected error occurred.")
        if run is not None and run.ended:
            await chat_settled(run)
        if not self.closing:
            await self._send_frame(frame)

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
