"""Sustained chat load in the production configuration, optionally through a Redis outage.

    python bench/chat_load.py [--clients 100] [--seconds 60] [--processes 1] [--reply-words 32]
                              [--worker] [--redis-outage SECONDS] [--outage-at SECONDS]
                              [--jobs-timeout 600] [--json bench/results/chat_load.json]

``--clients`` clients each chat with streaming ``POST /v1/chat/completions`` as their own end
user, continuing one thread, one chat after the other, for ``--seconds``. The model is the
tests' OpenAI-compatible fake (tests/fakes/openai_server.py) in this process, with zero
latency. infyn runs as production does: DEBUG off, a Redis of the benchmark's own (REDIS_URL:
cache, rate limit, channel layer, Celery broker), the embedded PostgreSQL of
$INFYN_DATA_DIR (default var/bench-chat). ``--processes N`` starts N daphne processes on one
listening socket (the kernel spreads connections between them), as a process per core behind
one port. ``--worker`` runs a Celery worker with beat (default sweep settings) beside them;
without it background jobs wait in Redis, as for a web host whose workers are elsewhere.

``--redis-outage S`` kills Redis ``--outage-at`` seconds into the run and starts it again, empty,
S seconds later; with ``--worker`` the script then waits for every background job of the run to
be done and reports how long after Redis came back that took.

Every chat must end with [DONE] and no error; afterwards each one's user and assistant
messages must be in the database with the text sent. Anything else is an error, and the script
exits 1. The API rate limit is lifted for the run (one key serves every client).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-chat"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.process_watch import ProcessWatch, postmaster_process  # noqa: E402
from bench.ws_concurrency import git_describe, log  # noqa: E402
from bench.ws_report import summary as stats  # noqa: E402
from memory.models import JobStatus, Message, OutboxJob, Role  # noqa: E402
from tenants.models import Vendor  # noqa: E402
from tenants.services import vendor_create  # noqa: E402
from tests.fakes.openai_server import fake_openai_server  # noqa: E402
from tests.faults.stack import (  # noqa: E402
    ChatLoad,
    ChatResult,
    Managed,
    RedisServer,
    celery_worker,
    wait_until,
)
from tests.infyn.servers import current_database_url  # noqa: E402

REPLY = (
    "Sure. Here is a short answer that streams a word at a time, long enough that every chat "
    "spends a while streaming, and short enough that the load is about what infyn adds."
)


@contextmanager
def daphne_processes(count: int, env: dict[str, str]) -> Iterator[tuple[str, list[Managed]]]:
    """``count`` daphne processes serving one listening socket, and its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    fd = str(listener.fileno())
    command = [sys.executable, "-m", "daphne", "--fd", fd, "infyn.asgi:application"]
    servers = [Managed(f"daphne-{n}", command, env) for n in range(count)]
    try:
        for server in servers:
            server.pass_fds = (listener.fileno(),)
            server.start()
        wait_until(lambda: _healthy(base_url), timeout=120, what="daphne answering")
        yield base_url, servers
    finally:
        for server in servers:
            server.stop()
        listener.close()


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=5).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def stored_check(results: list[ChatResult]) -> dict[str, int]:
    """How many of the answered chats have both messages stored, with the text sent."""
    wanted = {r.user_message_id: r.content for r in results if r.user_message_id}
    users = dict(
        Message.objects.filter(pk__in=list(wanted), role=Role.USER).values_list("pk", "content")
    )
    assistants = set(
        Message.objects.filter(
            pk__in=[r.assistant_message_id for r in results if r.assistant_message_id],
            role=Role.ASSISTANT,
        ).values_list("pk", flat=True)
    )
    return {
        "answered": len(wanted),
        "user_messages_stored": sum(users.get(pk) == content for pk, content in wanted.items()),
        "assistant_messages_stored": len(assistants),
    }


def run(args: argparse.Namespace, vendor: Vendor, key: str) -> dict[str, Any]:
    redis_server = RedisServer()
    with ExitStack() as stack, fake_openai_server() as upstream:
        upstream.default_reply = " ".join(REPLY.split()[: args.reply_words])
        redis_server.start()
        stack.callback(redis_server.stop)
        env = {
            "DATABASE_URL": current_database_url(),
            "REDIS_URL": redis_server.url,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "INFYN_DATA_DIR": str(settings.DATA_DIR),
            "INFYN_LLM_BACKEND": "openai",
            "INFYN_LLM_BASE_URL": upstream.base_url,
            "INFYN_LLM_MODEL": "fake-model",
            "INFYN_API_RATE_LIMIT": "100000000/min",
            "LOG_LEVEL": "WARNING",
        }
        worker = None
        if args.worker:
            worker = celery_worker(env)
            worker.start()
            stack.callback(worker.stop)
        base_url, servers = stack.enter_context(daphne_processes(args.processes, env))
        _warm_up(base_url, key)  # the first chats load the embedding model
        roots = {
            f"daphne-{n}": psutil.Process(s.process.pid) for n, s in enumerate(servers) if s.process
        }
        roots["bench"] = psutil.Process()
        if worker is not None and worker.process is not None:
            roots["celery"] = psutil.Process(worker.process.pid)
        postmaster = postmaster_process()
        if postmaster is not None:
            roots["postgres"] = postmaster
        watch = ProcessWatch(roots, trees=["postgres", *(["celery"] if worker else [])])
        watch.start()

        log(f"{args.clients} clients for {args.seconds} s on {args.processes} daphne process(es)")
        load = ChatLoad(base_url, key, clients=args.clients, timeout=args.timeout).start()
        started = time.perf_counter()
        outage: dict[str, Any] | None = None
        if args.redis_outage:
            time.sleep(args.outage_at)
            redis_server.kill()
            killed_at = time.perf_counter()
            log(f"redis killed at {killed_at - started:.1f} s")
            time.sleep(args.redis_outage)
            redis_server.start()  # empty: no persistence
            back_at = time.perf_counter()
            log(f"redis back (empty) at {back_at - started:.1f} s")
            outage = {"killed_at_s": killed_at - started, "back_at_s": back_at - started}
        time.sleep(max(0.0, args.seconds - (time.perf_counter() - started)))
        results = load.stop()
        wall = time.perf_counter() - started
        processes = watch.finish()

        jobs: dict[str, Any] = {}
        mine = OutboxJob.objects.filter(end_user__vendor=vendor)
        if worker is not None:

            def pending() -> bool:
                return not mine.filter(status=JobStatus.PENDING).exists()

            waited = wait_until(pending, timeout=args.jobs_timeout, what="every job done")
            done_at = time.perf_counter()
            jobs["all_done_after_load_s"] = round(waited, 1)
            if outage is not None:
                jobs["all_done_after_redis_back_s"] = round(
                    done_at - started - outage["back_at_s"], 1
                )
        jobs.update(
            total=mine.count(),
            done=mine.filter(status=JobStatus.DONE).count(),
            pending=mine.filter(status=JobStatus.PENDING).count(),
            failed=mine.filter(status=JobStatus.FAILED).count(),
        )
    return {
        "results": results,
        "wall_s": wall,
        "processes": processes,
        "outage": outage,
        "jobs": jobs,
    }


def _warm_up(base_url: str, key: str) -> None:
    for n in range(3):
        response = httpx.post(
            f"{base_url}/v1/chat/completions",
            json={"user": f"warm-{n}", "messages": [{"role": "user", "content": "Hello there."}]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )
        if response.status_code != 200:
            raise SystemExit(f"warm-up failed: {response.status_code} {response.text[:300]}")


def analyse(measured: dict[str, Any]) -> dict[str, Any]:
    results: list[ChatResult] = measured["results"]
    good = [r for r in results if r.status == 200 and r.done and r.error_code is None]
    errors: dict[str, int] = {}
    for r in results:
        if r in good:
            continue
        kind = r.transport_error or f"{r.status} {r.error_code}"
        errors[kind.split(":")[0]] = errors.get(kind.split(":")[0], 0) + 1
    wall = measured["wall_s"]
    return {
        "chats_started": len(results),
        "chats_completed": len(good),
        "errors": errors,
        "http_5xx": sum(1 for r in results if r.status is not None and r.status >= 500),
        "chats_per_s": round(len(good) / wall, 1),
        "ttft_ms": stats([r.first_token - r.sent for r in good if r.first_token], 1000),
        "chat_ms": stats([r.ended - r.sent for r in good if r.ended], 1000),
        "stored": stored_check(good),
        "wall_s": round(wall, 1),
        "outage": measured["outage"],
        "jobs": measured["jobs"],
        "processes": measured["processes"],
    }


def failed(result: dict[str, Any]) -> bool:
    stored = result["stored"]
    return bool(
        result["errors"]
        or stored["user_messages_stored"] != stored["answered"]
        or stored["assistant_messages_stored"] != stored["answered"]
        or result["jobs"].get("failed")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=1, help="daphne processes, one port")
    parser.add_argument("--reply-words", type=int, default=32)
    parser.add_argument("--worker", action="store_true", help="a Celery worker and beat beside")
    parser.add_argument("--redis-outage", type=float, default=0.0, help="seconds Redis is down")
    parser.add_argument("--outage-at", type=float, default=15.0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per chat")
    parser.add_argument("--jobs-timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.redis_outage and args.outage_at + args.redis_outage >= args.seconds:
        parser.error("the outage must end before the run does")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per chat otherwise
    log(f"data directory: {settings.DATA_DIR}")
    call_command("migrate", verbosity=0)
    vendor, _api_key, key = vendor_create(name="bench chat load", actor="bench")
    load_before = round(os.getloadavg()[0], 2)
    try:
        result = analyse(run(args, vendor, key))
    finally:
        vendor.delete()
    result["config"] = {
        "clients": args.clients,
        "seconds": args.seconds,
        "processes": args.processes,
        "reply_words": args.reply_words,
        "worker": args.worker,
        "redis_outage_s": args.redis_outage,
        "cpus": os.cpu_count(),
        "commit": git_describe(),
        "load_average_1m_before": load_before,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "processes"}, indent=2))
    for name, usage in result["processes"].items():
        print(f"{name}: {json.dumps(usage)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        log(f"wrote {args.json}")
    if failed(result):
        sys.exit(1)


if __name__ == "__main__":
    main()
