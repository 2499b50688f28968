"""Real servers for tests: daphne in a subprocess on a free loopback port."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback only)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def current_database_url() -> str:
    """A DATABASE_URL for a subprocess to use this test's database (embedded or not)."""
    from django.db import connection

    params = connection.get_connection_params()
    host = quote(str(params.get("host") or "127.0.0.1"), safe="")
    port = f":{params['port']}" if params.get("port") else ""
    password = f":{quote(str(params['password']), safe='')}" if params.get("password") else ""
    return f"postgres://{params['user']}{password}@{host}{port}/{params['dbname']}"


def fake_backend_env(upstream: Any) -> dict[str, str]:
    """Settings for a server on this test's database that generates with the `openai` backend
    against ``upstream``, a fake model server (tests.fakes.openai_server)."""
    return {
        "DATABASE_URL": current_database_url(),
        "INFYN_LLM_BACKEND": "openai",
        "INFYN_LLM_BASE_URL": upstream.base_url,
        "INFYN_LLM_MODEL": "fake-model",
    }


@contextlib.contextmanager
def daphne_server(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    # A file, not a pipe: nobody reads a pipe while the server runs, and a full one would
    # block daphne's next log line, and with it the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "infyn.asgi:application",
            ],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "infyn.settings", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"daphne exited early:\n{log.read().decode()}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not start listening within 60 s")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)
