"""Running a prepared chat (async, on the event loop): stream the reply from the backend;
when the stream ends, however it ends (finished, cancelled, failed), store the assistant's
message (what was generated so far) and a usage record. Background extraction for both
messages is scheduled after commit by ``message_create``.
"""

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from billing.models import UsageStatus
from billing.services import usage_record_create
from inference.backends import (
    BackendError,
    BackendStreamError,
    ChatBackend,
    ChatError,
    GenerationRequest,
    StreamEvent,
    TextDelta,
    UpstreamUsage,
)
from inference.chat.prepare import PreparedChat
from infyn.lib.api.exceptions import database_error_as_api_error
from memory.models import Role
from memory.services import message_create

logger = logging.getLogger(__name__)


class ReplyNotStoredError(ChatError):
    """The reply was generated (and perhaps shown) but could not be stored: the database
    was unavailable (503, its code), or something of ours failed (500 ``server_error``)."""

    def __init__(self, cause: Exception) -> None:
        unavailable = database_error_as_api_error(cause)
        if unavailable is None:
            self.code, self.status_code = "server_error", 500
            detail = "An unexpected error occurred."
        else:
            self.code, self.status_code = unavailable.default_code, unavailable.status_code
            detail = str(unavailable.detail)
        super().__init__(f"The reply could not be stored. {detail}")


async def chat_settled(run: "ChatRun") -> None:
    """Wait for a run that already failed to finish recording: the client is being told of
    the first failure, and a failure to record is logged where it happens."""
    with suppress(ChatError):
        await run.finished()


class ReplyAbandoned(Exception):  # noqa: N818 (an outcome, not a fault of ours)
    """A surface stopped taking the reply (a client too slow to keep up): recorded as
    cancelled, like a client that went away."""


def _error_text(error: BaseException | None, status: UsageStatus) -> str:
    if isinstance(error, BackendError):
        return error.message
    if status == UsageStatus.ERROR and error is not None:
        return f"internal error: {type(error).__name__}"
    return ""


@dataclass
class ChatOutcome:
    status: UsageStatus
    finish_reason: str  # "stop", "length", "cancelled" or "error"
    text: str
    assistant_message_id: int | None
    prompt_tokens: int
    completion_tokens: int
    baseline_tokens: int
    first_token_ms: float | None
    total_ms: float
    error: str = ""

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "baseline_tokens": self.baseline_tokens,
        }


@dataclass
class ChatRun:
    """One generation: ``await start()`` for the first piece, then ``deltas()`` for the rest.

    ``start`` raises ``BackendError`` when nothing can be generated, so a surface can still
    answer with a clean error status. After ``deltas`` ends (or is closed), ``finished()``
    gives what was recorded, or raises ``ReplyNotStoredError``.
    """

    prepared: PreparedChat
    backend: ChatBackend
    outcome: ChatOutcome | None = None
    _stream: AsyncIterator[StreamEvent] | None = None
    _first: str | None = None
    _pieces: list[str] = field(default_factory=list)
    _upstream_usage: UpstreamUsage | None = None
    _first_token_at: float | None = None
    _record_started: bool = False
    _caller_error: BaseException | None = None  # what ended the caller's deltas() block
    _recording: "asyncio.Future[None] | None" = None
    _not_stored: ReplyNotStoredError | None = None  # why recording failed, for finished()

    async def start(self) -> None:
        """Wait for the first piece of the reply (or the end of an empty one)."""
        context = self.prepared.context
        self._stream = self.backend.stream(
            GenerationRequest(
                messages=context.messages,
                max_tokens=self.prepared.request.max_tokens,
                temperature=self.prepared.request.temperature,
                top_p=self.prepared.request.top_p,
                stop=self.prepared.request.stop,
                seed=self.prepared.request.seed,
            )
        )
        try:
            self._first = await self._next_text()
        except BaseException as exc:
            await self._close_upstream()
            await self._finish(exc)  # never raises: the client hears of ``exc``
            raise

    @asynccontextmanager
    async def deltas(self) -> AsyncIterator[AsyncGenerator[str, None]]:
        """The reply's pieces, the first included, to use as
        ``async with run.deltas() as pieces: async for piece in pieces: ...``.

        Leaving the block however it is left (the end, an error, a cancellation arriving
        while the caller awaits something else) closes the stream, which records the
        outcome; an error raised in the block is what the record says ended the reply.
        Recording runs as a task of its own, so a surface can send the last of the text
        before it waits for ``finished()`` (the ``done`` frame needs the stored message).
        """
        pieces = self._deltas()
        try:
            yield pieces
        except BaseException as exc:
            self._caller_error = exc
            raise
        finally:
            await pieces.aclose()

    async def text(self) -> str:
        """The whole reply (non-streaming surfaces)."""
        async with self.deltas() as pieces:
            return "".join([piece async for piece in pieces])

    async def _deltas(self) -> AsyncGenerator[str, None]:
        if self._stream is None:
            raise RuntimeError("ChatRun.start() must be awaited first.")
        error: BaseException | None = None
        try:
            if self._first:
                yield self._first
            while self._first is not None:
                text = await self._next_text()
                if text is None:
                    break
                yield text
        except BaseException as exc:  # cancelled, closed by the client, or the backend broke
            error = exc
            raise
        finally:
            await self._close_upstream()
            # Its own task: neither the client's cancellation nor a slow database holds
            # the caller here, and the record lands either way.
            self._recording = asyncio.ensure_future(self._finish(self._caller_error or error))

    @property
    def ended(self) -> bool:
        """Whether the run has ended and its outcome is recorded or being recorded."""
        return self._record_started or self._recording is not None

    async def finished(self) -> "ChatOutcome":
        """The recorded outcome, once ``deltas()`` has ended."""
        if self._recording is not None:
            await asyncio.shield(self._recording)
        if self._not_stored is not None:
            raise self._not_stored
        assert self.outcome is not None, "deltas() must have run to its end"
        return self.outcome

    async def _next_text(self) -> str | None:
        """The next non-empty piece of text, or None at the end of the stream."""
        assert self._stream is not None
        async for event in self._stream:
            if isinstance(event, UpstreamUsage):
                self._upstream_usage = event
            elif isinstance(event, TextDelta) and event.text:
                if self._first_token_at is None:
                    self._first_token_at = time.perf_counter()
                self._pieces.append(event.text)
                return event.text
        return None

    async def _close_upstream(self) -> None:
        stream, self._stream = self._stream, None
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # the stream is being abandoned; its error is already known
                logger.debug("chat: closing the upstream stream failed", exc_info=True)

    async def _finish(self, error: BaseException | None) -> None:
        if self._record_started:
            return
        self._record_started = True
        # Shielded: the client may be gone (its task cancelled), the record must still land.
        # Any pool thread will do (thread_sensitive=False): one shared thread would queue
        # every connection's records behind each other.
        # It never raises: it may run as a task nobody awaits (the client left), and start()
        # must re-raise what stopped the reply. finished() reports a failure.
        try:
            await asyncio.shield(sync_to_async(self._record, thread_sensitive=False)(error))
        except Exception as exc:
            self._not_stored = ReplyNotStoredError(exc)
            self._not_stored.__cause__ = exc
            if self._not_stored.code == "server_error":
                logger.exception("chat: recording the reply failed")
            else:
                logger.warning("chat: the reply could not be stored: %s", exc)

    def _record(self, error: BaseException | None) -> None:
        close_old_connections()
        try:
            self._store(error)
        finally:
            close_old_connections()

    def _store(self, error: BaseException | None) -> None:
        prepared, text = self.prepared, "".join(self._pieces)
        usage = self._upstream_usage
        completion_tokens = usage.completion_tokens if usage else prepared.counter.count(text)
        if error is None:
            status = UsageStatus.OK
            reason = "length" if completion_tokens >= prepared.request.max_tokens else "stop"
        elif isinstance(error, asyncio.CancelledError | GeneratorExit | ReplyAbandoned):
            # the client went away, asked to stop, or could not keep up
            status, reason = UsageStatus.CANCELLED, "cancelled"
        else:  # the backend failed, or something of ours did
            status, reason = UsageStatus.ERROR, "error"
        assistant = None
        if text:
            # What the user saw is what the conversation holds, even when cut short.
            assistant = message_create(thread=prepared.thread, role=Role.ASSISTANT, content=text)
        now = time.perf_counter()
        upstream_prompt = usage.prompt_tokens if usage else 0
        # A server's count includes its chat template's framing, which ours estimates. Adding
        # the difference to the baseline keeps the two comparable: the full history would
        # have been framed by the same template.
        framing = max(0, upstream_prompt - prepared.context.token_count)
        self.outcome = ChatOutcome(
            status=status,
            finish_reason=reason,
            text=text,
            assistant_message_id=assistant.pk if assistant else None,
            # The server's own count when it gives one; ours (the same tokenizer) otherwise.
            prompt_tokens=upstream_prompt or prepared.context.token_count,
            completion_tokens=completion_tokens,
            baseline_tokens=prepared.context.baseline_tokens + framing,
            first_token_ms=(
                (self._first_token_at - prepared.started) * 1000 if self._first_token_at else None
            ),
            total_ms=(now - prepared.started) * 1000,
            error=_error_text(error, status),
        )
        usage_record_create(
            vendor=prepared.request.vendor,
            end_user=prepared.end_user,
            thread=prepared.thread,
            api_key_id=prepared.request.api_key_id,
            surface=prepared.request.surface,
            status=self.outcome.status,
            backend=self.backend.name,
            model=self.backend.model,
            prompt_tokens=self.outcome.prompt_tokens,
            completion_tokens=self.outcome.completion_tokens,
            baseline_tokens=self.outcome.baseline_tokens,
            memory_items=len(prepared.memory_items()),
            retrieval_ms=prepared.retrieval_ms,
            first_token_ms=self.outcome.first_token_ms,
            total_ms=self.outcome.total_ms,
            user_message_id=prepared.user_message.pk,
            assistant_message_id=self.outcome.assistant_message_id,
            error=self.outcome.error[:300],
        )
        if isinstance(error, BackendStreamError):
            logger.warning("chat: the stream broke after %d pieces: %s", len(self._pieces), error)
