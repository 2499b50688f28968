"""Concurrent streaming chats over the websocket, all on one daphne process, with a fake model.

    python bench/ws_concurrency.py [--connections 200] [--turns 1] [--reply-words 64]
                                   [--token-delay 0] [--first-token-delay 0]
                                   [--redis-url URL] [--json bench/results/ws_concurrency.json]

The model is the OpenAI-compatible fake of the tests (tests/fakes/openai_server.py), run in
this process on a real port: it streams a fixed reply of --reply-words words, one word per
event, --token-delay seconds apart (0: as fast as it can). One daphne process serves
``/ws/chat/`` against it with DEBUG off, on the configured database (the embedded PostgreSQL
in $INFYN_DATA_DIR, default var/bench-chat, so dev data is never touched); its output goes
to $INFYN_DATA_DIR/daphne.log.

Every connection authenticates with a widget token of its own end user, waits for ``ready``,
and then all of them send their message at once; each turn is timed from the send to the
first ``token`` frame (time to first token) and to ``done``. The token texts of every turn
must add up to the fake's reply exactly, and ``done`` must count its words. Any error frame,
unexpected close, timeout or mismatch is an error, and the script exits 1. Beside the
client's view it reports daphne's own timings (UsageRecord), and the CPU seconds of daphne,
PostgreSQL and this process.

Everything happens in a throwaway vendor, deleted at the end.

This script holds the options, daphne and the run; the clients are in bench/ws_clients.py, the
process watch in bench/process_watch.py, the analysis and report in bench/ws_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-chat"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

# Importable as bench.*: the repository root is on sys.path (above), and the models they
# import need django.setup() first.
from bench.process_watch import ProcessWatch, postmaster_process  # noqa: E402
from bench.ws_clients import (  # noqa: E402
    USER_PREFIX,
    WARMUP_PREFIX,
    Conversation,
    mint_conversations,
    reply_text,
    run_conversations,
)
from bench.ws_report import analyse, failed, print_report, server_timings  # noqa: E402
from tenants.models import ApiKey  # noqa: E402
from tenants.services import vendor_create  # noqa: E402
from tests.fakes.openai_server import fake_openai_server  # noqa: E402
from tests.infyn.servers import current_database_url, free_port  # noqa: E402

MODEL = "fake-model"
ASGI_APP = "infyn.asgi:application"
WARMUP_USERS = 2


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def background_jobs() -> str:
    """Where daphne runs memory's background jobs without a broker (the setting may be new)."""
    return str(getattr(settings, "MEMORY_BACKGROUND_JOBS", "inline"))


def git_describe() -> str | None:
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607 (git from PATH)
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


@contextmanager
def daphne(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, psutil.Process]]:
    """One daphne process on a free port, its output in ``log_path``.

    Not tests.infyn.servers.daphne_server: that one pipes daphne's output and never reads it,
    so a long run that logs more than a pipe holds (64 KiB) blocks daphne's event loop.
    """
    port = free_port()
    with log_path.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), ASGI_APP],
            cwd=BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "infyn.settings", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"daphne exited early; see {log_path}")
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not start listening within 60 s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log("daphne did not stop within 30 s of SIGTERM; killing it")
            process.kill()
            process.wait(timeout=10)


@dataclass
class Run:
    conversations: list[Conversation]
    wall_s: float
    processes: dict[str, dict[str, float]]
    upstream: dict[str, int]


def run(args: argparse.Namespace, api_key: ApiKey, reply: str) -> Run:
    """Start the fake model and daphne, warm up, and run every conversation."""
    warmup = mint_conversations(api_key, range(WARMUP_USERS), WARMUP_PREFIX)
    conversations = mint_conversations(api_key, range(args.connections), USER_PREFIX)
    with fake_openai_server() as fake:
        fake.default_reply = reply
        fake.token_delay = args.token_delay
        fake.first_token_delay = args.first_token_delay
        env = {
            "DATABASE_URL": current_database_url(),
            "INFYN_LLM_BACKEND": "openai",
            "INFYN_LLM_BASE_URL": fake.base_url,
            "INFYN_LLM_MODEL": MODEL,
            "INFYN_DATA_DIR": str(settings.DATA_DIR),
            # As in production: no debug cursors keeping every query. The key is this data
            # directory's, so the widget tokens minted here verify there.
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        }
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        daphne_log = Path(settings.DATA_DIR) / "daphne.log"
        with daphne(env, daphne_log) as (base_url, process):
            log(f"daphne at {base_url}, its log in {daphne_log}")
            log("warming up (the first chat loads the embedding model)")
            for conversation in warmup:  # one at a time: the service time of one chat
                asyncio.run(
                    run_conversations(
                        [conversation], base_url=base_url, turns=1, timeout=args.timeout
                    )
                )
            warm = analyse(
                warmup, turns_each=1, reply=reply, reply_words=args.reply_words, wall_s=1.0
            )
            if failed(warm):
                raise SystemExit(f"warm-up failed: {warm['error_samples']}")
            roots = {"daphne": process, "bench": psutil.Process()}
            postmaster = postmaster_process()
            if postmaster is not None:
                roots["postgres"] = postmaster
            watch = ProcessWatch(roots, trees=["postgres"])
            watch.start()
            log(f"{args.connections} connections, {args.turns} turn(s) each")
            go_at, ended = asyncio.run(
                run_conversations(
                    conversations,
                    base_url=base_url,
                    turns=args.turns,
                    timeout=args.timeout,
                    show_progress=True,
                )
            )
            processes = watch.finish()
        upstream = {"completed": fake.completed, "abandoned": fake.abandoned}
    return Run(conversations, ended - go_at, processes, upstream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--turns", type=int, default=1, help="messages per connection, in turn")
    parser.add_argument("--reply-words", type=int, default=64, help="the fake's reply, in words")
    parser.add_argument(
        "--token-delay", type=float, default=0.0, help="seconds between the fake's words"
    )
    parser.add_argument("--first-token-delay", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per turn")
    parser.add_argument(
        "--redis-url",
        help="give daphne this REDIS_URL (as production does): background work is queued for "
        "a Celery worker instead of running inside daphne; nothing consumes it here",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    log(f"data directory: {settings.DATA_DIR}")

    call_command("migrate", verbosity=0)
    load_before = round(os.getloadavg()[0], 2)
    vendor, api_key, _raw_key = vendor_create(name="bench websocket chat", actor="bench")
    reply = reply_text(args.reply_words)
    try:
        measured = run(args, api_key, reply)
        result = analyse(
            measured.conversations,
            turns_each=args.turns,
            reply=reply,
            reply_words=args.reply_words,
            wall_s=measured.wall_s,
        )
        result["server"] = server_timings(vendor, measured.conversations)
    finally:
        vendor.delete()
    result["processes"] = measured.processes
    result["upstream"] = measured.upstream
    result["config"] = {
        "connections": args.connections,
        "turns": args.turns,
        "reply_words": args.reply_words,
        "token_delay_s": args.token_delay,
        "first_token_delay_s": args.first_token_delay,
        "ws_flush_interval_ms": settings.WS_FLUSH_INTERVAL_MS,
        "background_jobs": (
            "celery: queued in Redis, no worker here" if args.redis_url else background_jobs()
        ),
        "embedding_backend": settings.EMBEDDING_BACKEND,
        "embedding_threads": settings.EMBEDDING_THREADS,
        "cpus": os.cpu_count(),
        "commit": git_describe(),
    }
    # Other work on the machine skews every figure here; say how busy it was.
    result["load_average_1m"] = {"before": load_before, "after": round(os.getloadavg()[0], 2)}
    print_report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        log(f"wrote {args.json}")
    if failed(result):
        sys.exit(1)


if __name__ == "__main__":
    main()
