"""Any OpenAI-compatible server (vLLM, llama.cpp's server, a hosted API) over HTTP.

One ``httpx.AsyncClient`` per process and event loop keeps connections alive between
requests; its pool is sized for as many concurrent generations as the process serves.
Streaming uses server-sent events. Closing the stream (our client went away) closes the
upstream response, which a server like vLLM takes as the signal to abort the generation.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

import httpx
from django.conf import settings

from inference.backends.base import (
    BackendRejectedError,
    BackendStreamError,
    BackendUnavailableError,
    GenerationRequest,
    StreamEvent,
    TextDelta,
    UpstreamUsage,
)
from memory.tokens import TokenCounter

# Error text from the server is quoted to API clients; keep it short.
_MAX_UPSTREAM_ERROR_CHARS = 300


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
    ) -> None:
        self.base_url = str(base_url or settings.LLM_BASE_URL or "").rstrip("/")
        if not self.base_url:
            raise BackendUnavailableError("No model server is configured (INFYN_LLM_BASE_URL).")
        self.api_key = api_key if api_key is not None else settings.LLM_API_KEY
        self.model = model or settings.LLM_MODEL
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    def _client(self) -> httpx.AsyncClient:
        # An AsyncClient's pool belongs to the event loop that first used it: daphne has
        # one loop per process; tests and scripts may run several.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for stale in [known for known in self._clients if known.is_closed()]:
                del self._clients[stale]
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=settings.LLM_CONNECT_TIMEOUT_SECONDS,
                    read=settings.LLM_TIMEOUT_SECONDS,
                    write=10.0,
                    pool=settings.LLM_TIMEOUT_SECONDS,
                ),
                limits=httpx.Limits(
                    max_connections=settings.LLM_MAX_CONNECTIONS,
                    max_keepalive_connections=min(64, settings.LLM_MAX_CONNECTIONS),
                    keepalive_expiry=30.0,
                ),
                headers={"Authorization": f"Bearer {self.api_key}"} if self.api_key else {},
            )
            self._clients[loop] = client
        return client

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        url = f"{self.base_url}/chat/completions"
        started = False
        try:
            async with self._client().stream("POST", url, json=self._body(request)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _status_error(response)
                finished = False
                async for payload in _sse_payloads(response):
                    if payload is _DONE:
                        finished = True
                        continue  # read to the end, so the connection goes back to the pool
                    finished = finished or _has_finish_reason(payload)
                    for event in _events(payload):
                        started = started or isinstance(event, TextDelta)
                        yield event
                # Servers that omit [DONE] still mark the last choice as finished.
                if not finished:
                    raise BackendStreamError("The model server closed the stream early.")
        except httpx.TimeoutException as exc:
            kind = "first token" if not started else "next token"
            error = f"The model server did not answer in time (waiting for the {kind})."
            raise (BackendStreamError if started else BackendUnavailableError)(error) from exc
        except httpx.HTTPError as exc:
            error = f"The model server is unreachable: {type(exc).__name__}."
            raise (BackendStreamError if started else BackendUnavailableError)(error) from exc

    def token_counter(self) -> tuple[TokenCounter, str] | None:
        if not settings.LLM_TOKENIZER_FILE:
            return None
        return tokenizer_file_counter(settings.LLM_TOKENIZER_FILE)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for loop, client in clients.items():
            if loop is asyncio.get_running_loop():
                await client.aclose()


def tokenizer_file_counter(path: str) -> tuple[TokenCounter, str]:
    """Count with a Hugging Face ``tokenizer.json`` (the served model's own)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)

    @lru_cache(maxsize=8192)
    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count, f"tokenizer file {path}"


def _status_error(response: httpx.Response) -> BackendUnavailableError | BackendRejectedError:
    detail = _upstream_message(response)
    if 400 <= response.status_code < 500 and response.status_code not in {408, 429}:
        return BackendRejectedError(
            f"The model server refused the request (HTTP {response.status_code}): {detail}"
        )
    return BackendUnavailableError(
        f"The model server failed (HTTP {response.status_code}): {detail}"
    )


def _upstream_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    text = str(message or response.text or response.reason_phrase)
    return text[:_MAX_UPSTREAM_ERROR_CHARS]


_DONE: dict[str, Any] = {}  # what _sse_payloads yields for ``data: [DONE]``


async def _sse_payloads(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream; ``_DONE`` for ``data: [DONE]``."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
            continue
        if line or not data:
            continue  # comments, other fields, keep-alive blank lines
        text, data = "\n".join(data), []
        if text == "[DONE]":
            yield _DONE
            continue
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise BackendStreamError("The model server sent a malformed event.") from exc
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise BackendStreamError(f"The model server failed mid-stream: {message}")
        if isinstance(payload, dict):
            yield payload


def _has_finish_reason(payload: dict[str, Any]) -> bool:
    return any(choice.get("finish_reason") for choice in payload.get("choices") or [])


def _events(payload: dict[str, Any]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for choice in payload.get("choices") or []:
        content = (choice.get("delta") or {}).get("content")
        if content:
            events.append(TextDelta(str(content)))
    usage = payload.get("usage")
    if isinstance(usage, dict) and "completion_tokens" in usage:
        events.append(
            UpstreamUsage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage["completion_tokens"]),
            )
        )
    return events
