"""A fake OpenAI-compatible server on a real loopback port, speaking HTTP/1.1 with keep-alive.

``POST /v1/chat/completions`` answers with scripted replies, as one JSON object or as a
server-sent event stream (``stream: true``), and can be told to fail: an HTTP status, a
stall before or during the stream, an error event or a dropped connection mid-stream.
``POST /tokenize`` counts words, as vLLM's tokenizer endpoint would count tokens.
Every request is recorded, and so is every stream the client abandoned, which is how
tests see that a cancelled chat closed its upstream request.

It runs on asyncio in a thread of its own, so hundreds of concurrent streams are cheap
(the benchmarks use it as a zero-latency backend).
"""

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class FakeOpenAI:
    base_url: str = ""
    replies: list[str] = field(default_factory=list)  # message contents, in order
    default_reply: str = ""  # when ``replies`` is empty
    status: int = 200
    # Streaming script: the reply is split into word pieces; these shape how they go out.
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    stall_after: int | None = None  # pieces sent before the stream hangs forever
    error_after: int | None = None  # pieces sent before an error event
    drop_after: int | None = None  # pieces sent before the connection is cut
    refuse: bool = False  # cut every connection at once, new or kept alive, before answering
    requests: list[dict[str, Any]] = field(default_factory=list)
    abandoned: int = 0  # streams the client closed before they finished
    completed: int = 0

    def reply_for_next(self) -> str:
        return self.replies.pop(0) if self.replies else self.default_reply


def _pieces(text: str) -> list[str]:
    """The reply as the model would stream it: a word at a time, spaces leading."""
    if not text:
        return []
    words = text.split(" ")
    return [words[0], *(" " + word for word in words[1:])]


class _Server:
    def __init__(self, state: FakeOpenAI) -> None:
        self.state = state

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.state.refuse:
            writer.transport.abort()
            return
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                if self.state.refuse:  # a kept-alive connection is cut too
                    writer.transport.abort()
                    return
                path, headers, body = request
                keep_open = await self._dispatch(path, headers, body, writer)
                if not keep_open:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with suppress(Exception):
                writer.close()

    async def _read_request(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, httpx.Headers, dict[str, Any]] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin1").split("\r\n")
        _method, path, _version = lines[0].split(" ", 2)
        # Case-insensitive, as HTTP header names are.
        headers = httpx.Headers(
            [
                tuple(part.strip() for part in line.split(":", 1))
                for line in lines[1:]
                if ":" in line
            ]
        )
        length = int(headers.get("content-length", "0"))
        raw = await reader.readexactly(length) if length else b"{}"
        return path, headers, json.loads(raw or b"{}")

    async def _dispatch(
        self, path: str, headers: httpx.Headers, body: dict[str, Any], writer: asyncio.StreamWriter
    ) -> bool:
        state = self.state
        state.requests.append({"path": path, "body": body, "headers": headers})
        if path == "/tokenize":
            words = len(str(body.get("prompt", "")).split())
            await self._json(writer, 200, {"count": words, "tokens": list(range(words))})
            return True
        if path != "/v1/chat/completions":
            await self._json(writer, 404, {"error": {"message": "not found"}})
            return True
        if state.status != 200:
            await self._json(writer, state.status, {"error": {"message": "scripted failure"}})
            return True
        reply = state.reply_for_next()
        if not body.get("stream"):
            await self._json(writer, 200, self._completion(body, reply))
            state.completed += 1
            return True
        return await self._stream(writer, body, reply)

    def _completion(self, body: dict[str, Any], reply: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    async def _stream(self, writer: asyncio.StreamWriter, body: dict[str, Any], reply: str) -> bool:
        state = self.state
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        pieces = _pieces(reply)
        chunk_base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model"),
        }

        async def event(payload: dict[str, Any] | str) -> None:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            data = f"data: {text}\n\n".encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()

        try:
            if state.first_token_delay:
                await asyncio.sleep(state.first_token_delay)
            await event(
                {
                    **chunk_base,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None,
                        }
                    ],
                }
            )
            for index, piece in enumerate(pieces):
                if state.stall_after is not None and index >= state.stall_after:
                    await asyncio.sleep(3600)
                if state.error_after is not None and index >= state.error_after:
                    await event({"error": {"message": "scripted mid-stream failure"}})
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    return True
                if state.drop_after is not None and index >= state.drop_after:
                    writer.transport.abort()
                    return False
                if index and state.token_delay:
                    await asyncio.sleep(state.token_delay)
                await event(
                    {
                        **chunk_base,
                        "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        ],
                    }
                )
            await event(
                {**chunk_base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            )
            if (body.get("stream_options") or {}).get("include_usage"):
                await event(
                    {
                        **chunk_base,
                        "choices": [],
                        "usage": {
                            "prompt_tokens": 11,
                            "completion_tokens": len(pieces),
                            "total_tokens": 11 + len(pieces),
                        },
                    }
                )
            await event("[DONE]")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            state.completed += 1
            return True
        except (ConnectionError, asyncio.CancelledError):
            state.abandoned += 1
            raise

    async def _json(self, writer: asyncio.StreamWriter, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()


@contextmanager
def fake_openai_server() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    loop = asyncio.new_event_loop()
    server_ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        server = await asyncio.start_server(_Server(state).handle, "127.0.0.1", 0, backlog=1024)
        holder["server"] = server
        state.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
        server_ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True, name="fake-openai")
    thread.start()
    server_ready.wait(10)
    try:
        yield state
    finally:

        async def stop() -> None:
            holder["server"].close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
