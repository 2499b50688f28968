"""A fake OpenAI-compatible chat server on a real loopback port.

It answers ``POST /v1/chat/completions`` with scripted replies and records every request,
so tests exercise our HTTP client, request shape and error handling for real.
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeOpenAI:
    base_url: str = ""
    replies: list[str] = field(default_factory=list)  # message contents, in order
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def fake_openai_server() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            state.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found"}})
            elif state.status != 200:
                self._send(state.status, {"error": {"message": "scripted failure"}})
            else:
                content = state.replies.pop(0) if state.replies else ""
                self._send(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
