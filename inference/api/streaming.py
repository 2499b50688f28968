"""Rendering a chat run: OpenAI's chat.completion (JSON or SSE chunks) and infyn's frames."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpResponseBase, JsonResponse, StreamingHttpResponse

from inference.api.serializers import ChatInput
from inference.backends import ChatError
from inference.chat.run import ChatOutcome, ChatRun, chat_settled
from inference.frames import done_frame, error_frame, start_frame, token_frame
from infyn.lib.api.error_shape import error_body

THREAD_HEADER = "X-Infyn-Thread"


def _sse(payload: dict[str, Any] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def _event_stream(body: AsyncIterator[bytes], run: ChatRun) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
    response[THREAD_HEADER] = run.prepared.thread.external_id
    return response


def _infyn(run: ChatRun, outcome: ChatOutcome) -> dict[str, Any]:
    prepared = run.prepared
    return {
        "thread_id": prepared.thread.external_id,
        "user_id": prepared.end_user.external_id,
        "memory": prepared.memory_items(),
        "prompt_tokens": outcome.prompt_tokens,
        "baseline_tokens": outcome.baseline_tokens,
        "saved_tokens": max(0, outcome.baseline_tokens - outcome.prompt_tokens),
        "token_counter": prepared.context.token_counter,
        "user_message_id": prepared.user_message.pk,
        "assistant_message_id": outcome.assistant_message_id,
    }


def _openai_usage(outcome: ChatOutcome) -> dict[str, int]:
    return {
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
    }


async def _collect(run: ChatRun) -> tuple[str, ChatOutcome] | JsonResponse:
    """The whole reply and its outcome, or the error response when the chat failed (the
    model, or storing the reply)."""
    try:
        text = await run.text()
        return text, await run.finished()
    except ChatError as exc:
        await chat_settled(run)  # the partial reply and the usage record are stored
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)


async def chat_completion(run: ChatRun, chat: ChatInput) -> HttpResponseBase:
    """OpenAI's response: one ``chat.completion`` object, or SSE ``chat.completion.chunk``s."""
    header = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "created": int(time.time()),
        "model": run.backend.model,
    }
    if not chat.stream:
        collected = await _collect(run)
        if isinstance(collected, JsonResponse):
            return collected
        text, outcome = collected
        body = {
            **header,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": outcome.finish_reason,
                }
            ],
            "usage": _openai_usage(outcome),
            "infyn": _infyn(run, outcome),
        }
        response = JsonResponse(body)
        response[THREAD_HEADER] = run.prepared.thread.external_id
        return response

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return {**header, "object": "chat.completion.chunk", "choices": [choice]}

    async def events() -> AsyncIterator[bytes]:
        yield _sse(chunk({"role": "assistant", "content": ""}))
        try:
            async with run.deltas() as pieces:
                async for piece in pieces:
                    yield _sse(chunk({"content": piece}))
            outcome = await run.finished()
        except ChatError as exc:
            # Headers are sent: the error travels as an event, as OpenAI's own streams do.
            yield _sse(error_body(exc.code, exc.message))
            await chat_settled(run)
            return
        final = chunk({}, outcome.finish_reason)
        final["infyn"] = _infyn(run, outcome)
        yield _sse(final)
        if chat.include_usage:
            yield _sse(
                {
                    **header,
                    "object": "chat.completion.chunk",
                    "choices": [],
                    "usage": _openai_usage(outcome),
                }
            )
        yield _sse("[DONE]")

    return _event_stream(events(), run)


async def chat(run: ChatRun, chat: ChatInput) -> HttpResponseBase:
    """infyn's own shape: a JSON reply, or SSE events carrying the websocket's frames."""
    if not chat.stream:
        collected = await _collect(run)
        if isinstance(collected, JsonResponse):
            return collected
        text, outcome = collected
        done = done_frame(run.prepared, outcome, run.backend.model)
        return JsonResponse(
            {
                "thread_id": done["thread_id"],
                "user_message_id": run.prepared.user_message.pk,
                "message": {"id": done["message_id"], "role": "assistant", "content": text},
                "finish_reason": done["finish_reason"],
                "usage": done["usage"],
                "memory": done["memory"],
                "model": done["model"],
            }
        )

    async def events() -> AsyncIterator[bytes]:
        yield _sse(start_frame(run.prepared))
        try:
            async with run.deltas() as pieces:
                async for piece in pieces:
                    yield _sse(token_frame(piece))
            outcome = await run.finished()
        except ChatError as exc:
            yield _sse(error_frame(exc.code, exc.message))
            await chat_settled(run)
            return
        yield _sse(done_frame(run.prepared, outcome, run.backend.model))

    return _event_stream(events(), run)
