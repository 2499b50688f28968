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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-chat"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Count  # noqa: E402
from tqdm import tqdm  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402
from websockets.typing import Origin  # noqa: E402

from billing.models import UsageRecord  # noqa: E402
from tenants.models import ApiKey, Vendor  # noqa: E402
from tenants.services import vendor_create  # noqa: E402
from tenants.widget_tokens import widget_token_mint  # noqa: E402
from tests.fakes.openai_server import fake_openai_server  # noqa: E402
from tests.infyn.servers import current_database_url, free_port  # noqa: E402

MODEL = "fake-model"
ASGI_APP = "infyn.asgi:application"
WARMUP_USERS = 2
WARMUP_PREFIX = "bench-warmup"
USER_PREFIX = "bench-user"
SAMPLE_EVERY_S = 0.2
ERROR_SAMPLES = 10

# Messages vary per end user and turn, and read like what people tell a chat assistant (so
# the rule-based extractor finds facts in some, as it would in production).
OPENINGS = [
    "I've been thinking about {} all week; what would you suggest?",
    "Can you help me plan {} before the end of the month?",
    "My partner and I keep arguing about {}. Any advice?",
    "Quick question about {}: where should I even start?",
    "I live in Lisbon now and I'm trying to sort out {}.",
    "Remind me what we said about {} last time?",
    "I just started a new job as a nurse, and {} is stressing me out.",
    "What are three things I should know about {}?",
]
SUBJECTS = [
    "my sister's wedding in June",
    "the sourdough starter I keep killing",
    "a week of hiking in the Dolomites",
    "learning Portuguese on a budget",
    "my dog Biscuit's separation anxiety",
    "switching from Python to Rust at work",
    "a birthday dinner for twelve people",
    "paying off my student loans faster",
    "getting back into running after a knee injury",
    "a vegetable garden on a small balcony",
    "my daughter's first year at university",
    "moving my parents into a smaller flat",
]
REPLY_SOURCE = (
    "That sounds like a lot to juggle, so let's take it one step at a time. First, write "
    "down what matters most to you and what can wait. Then pick one small thing you can do "
    "today, because momentum helps more than a perfect plan. If it would help, tell me a "
    "little more about your week and I can suggest a simple schedule that leaves room for "
    "rest, for the people you care about, and for the surprises that always turn up."
)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def message_text(user: int, turn: int) -> str:
    opening = OPENINGS[(user + turn) % len(OPENINGS)]
    return opening.format(SUBJECTS[(user * 5 + turn * 7) % len(SUBJECTS)])


def reply_text(words: int) -> str:
    pool = REPLY_SOURCE.split()
    return " ".join(pool[index % len(pool)] for index in range(words))


# --- one connection -------------------------------------------------------------------------


@dataclass
class Turn:
    sent: float
    first_token: float | None = None
    last_token: float | None = None
    done: float | None = None
    frames: int = 0
    text: str = ""
    completion_tokens: int = 0
    error: str | None = None


@dataclass
class Conversation:
    user: int
    token: str
    connected_s: float | None = None
    turns: list[Turn] = field(default_factory=list)
    error: str | None = None


async def receive(ws: ClientConnection) -> dict[str, Any]:
    frame = json.loads(await ws.recv())
    assert isinstance(frame, dict)
    return frame


async def one_turn(ws: ClientConnection, content: str) -> Turn:
    turn = Turn(sent=time.perf_counter())
    await ws.send(json.dumps({"type": "message", "content": content}))
    pieces: list[str] = []
    while True:
        frame = await receive(ws)
        now = time.perf_counter()
        kind = frame.get("type")
        if kind == "token":
            turn.first_token = turn.first_token or now
            turn.last_token = now
            turn.frames += 1
            pieces.append(frame["text"])
        elif kind == "done":
            turn.done = now
            turn.completion_tokens = int(frame["usage"]["completion_tokens"])
            break
        elif kind == "error":
            turn.error = f"error frame: {frame.get('code')}: {frame.get('message')}"
            break
    turn.text = "".join(pieces)
    return turn


async def converse(
    conversation: Conversation,
    *,
    url: str,
    origin: str,
    turns: int,
    timeout: float,
    connected: asyncio.Queue[None],
    go: asyncio.Event,
    progress: tqdm | None,
) -> None:
    """Connect, report ready, wait for ``go``, then chat ``turns`` times, one after another."""
    started = time.perf_counter()
    ready_told = False
    try:
        async with connect(
            f"{url}?token={conversation.token}",
            origin=Origin(origin),  # a page served by infyn itself: same origin
            open_timeout=timeout,
            ping_interval=None,  # browsers do not ping; keep the measure free of it
            max_size=2**22,
        ) as ws:
            ready = await asyncio.wait_for(receive(ws), timeout)
            if ready.get("type") != "ready":
                raise RuntimeError(f"expected a ready frame, got {ready}")
            conversation.connected_s = time.perf_counter() - started
            connected.put_nowait(None)
            ready_told = True
            await go.wait()
            for index in range(turns):
                content = message_text(conversation.user, index)
                try:
                    turn = await asyncio.wait_for(one_turn(ws, content), timeout)
                except TimeoutError:
                    turn = Turn(sent=time.perf_counter(), error=f"no done within {timeout:g} s")
                conversation.turns.append(turn)
                if progress is not None:
                    progress.update()
                if turn.error:
                    break
    except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError, RuntimeError) as exc:
        conversation.error = f"{type(exc).__name__}: {exc}"
        if not ready_told:  # never leave the start waiting for this one
            connected.put_nowait(None)


async def run_conversations(
    conversations: Sequence[Conversation],
    *,
    base_url: str,
    turns: int,
    timeout: float,
    show_progress: bool = False,
) -> tuple[float, float]:
    """All connect at once; once every one is ready (or failed), all send at once.

    Returns the moment everyone was told to go and the moment the last turn ended.
    """
    url = base_url.replace("http://", "ws://", 1) + "/ws/chat/"
    connected: asyncio.Queue[None] = asyncio.Queue()
    go = asyncio.Event()
    progress = (
        tqdm(total=len(conversations) * turns, desc="chats", unit="chat", file=sys.stderr)
        if show_progress
        else None
    )
    tasks = [
        asyncio.create_task(
            converse(
                conversation,
                url=url,
                origin=base_url,
                turns=turns,
                timeout=timeout,
                connected=connected,
                go=go,
                progress=progress,
            )
        )
        for conversation in conversations
    ]
    for _ in conversations:
        await connected.get()
    go_at = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    ended = time.perf_counter()
    if progress is not None:
        progress.close()
    return go_at, ended


# --- watching the processes -----------------------------------------------------------------


class ProcessWatch(threading.Thread):
    """CPU seconds, peak RSS and peak threads of processes; CPU only, of process trees.

    Sampled every SAMPLE_EVERY_S; the CPU of a child that lived shorter than that is missed.
    """

    def __init__(self, roots: dict[str, psutil.Process], *, trees: Sequence[str] = ()) -> None:
        super().__init__(daemon=True, name="process-watch")
        self.roots = roots
        self.trees = set(trees)  # roots counted with their children (PostgreSQL's backends)
        self.first: dict[str, dict[int, float]] = {name: {} for name in roots}
        self.last: dict[str, dict[int, float]] = {name: {} for name in roots}
        self.peak_rss: dict[str, int] = dict.fromkeys(roots, 0)
        self.peak_threads: dict[str, int] = dict.fromkeys(roots, 0)
        self.stop = threading.Event()
        self.sample(baseline=True)

    def sample(self, *, baseline: bool = False) -> None:
        for name, root in self.roots.items():
            try:
                members = [root]
                if name in self.trees:
                    members += root.children(recursive=True)
                self.peak_rss[name] = max(self.peak_rss[name], root.memory_info().rss)
                self.peak_threads[name] = max(self.peak_threads[name], root.num_threads())
            except psutil.Error:
                continue
            for process in members:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                seconds = times.user + times.system
                if baseline:
                    self.first[name][process.pid] = seconds
                self.last[name][process.pid] = seconds

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def finish(self) -> dict[str, dict[str, float]]:
        self.stop.set()
        self.join()
        self.sample()
        result = {}
        for name, root in self.roots.items():
            used = sum(
                seconds - self.first[name].get(pid, 0.0) for pid, seconds in self.last[name].items()
            )
            result[name] = {"cpu_s": round(used, 2)}
            if name not in self.trees:
                rss = high_water_rss(root) or self.peak_rss[name]
                result[name]["peak_rss_mb"] = round(rss / 2**20, 1)
                result[name]["peak_threads"] = self.peak_threads[name]
        return result


def high_water_rss(process: psutil.Process) -> int | None:
    """The kernel's peak resident set size of a process (Linux), in bytes."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def postmaster_process() -> psutil.Process | None:
    """The embedded PostgreSQL's postmaster, when the database is the embedded one."""
    pgdata = settings.DATABASES["default"].get("EMBEDDED_PGDATA")
    if not pgdata:
        return None
    try:
        pid = int((Path(pgdata) / "postmaster.pid").read_text().split()[0])
        return psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        return None


# --- results --------------------------------------------------------------------------------


def summary(values: Sequence[float], scale: float = 1.0) -> dict[str, float] | None:
    if not values:
        return None
    data = np.asarray(values, dtype=np.float64) * scale
    return {
        "n": len(data),
        "p50": round(float(np.percentile(data, 50)), 1),
        "p95": round(float(np.percentile(data, 95)), 1),
        "mean": round(float(data.mean()), 1),
        "max": round(float(data.max()), 1),
    }


def server_timings(vendor: Vendor, conversations: Sequence[Conversation]) -> dict[str, Any]:
    """What daphne recorded itself (UsageRecord), the warm-up chats apart.

    retrieval_ms is from the message's arrival in the consumer until its context was built:
    queueing for the database thread included. Sorted, the values of a burst of chats that
    queue for a single thread rise by one chat's service time per rank; the slope of a line
    fitted through them is that time (or that time divided by the workers that share it).
    The client's time to first token less the consumer's is the time spent outside the
    consumer: in daphne's event loop, the sockets and this process.
    """
    records = UsageRecord.objects.filter(vendor=vendor)
    warm = records.filter(end_user__external_id__startswith=WARMUP_PREFIX)
    measured = records.exclude(end_user__external_id__startswith=WARMUP_PREFIX)
    retrieval = sorted(measured.values_list("retrieval_ms", flat=True))
    slope = float(np.polyfit(np.arange(len(retrieval)), retrieval, 1)[0]) if retrieval else 0.0
    by_user: dict[str, list[float | None]] = {}
    for user, first_token_ms in measured.order_by("created_at", "pk").values_list(
        "end_user__external_id", "first_token_ms"
    ):
        by_user.setdefault(user, []).append(first_token_ms)
    outside = []
    for conversation in conversations:
        server_side = by_user.get(f"{USER_PREFIX}-{conversation.user}", [])
        for turn, first_token_ms in zip(conversation.turns, server_side, strict=False):
            if turn.first_token is not None and first_token_ms is not None:
                outside.append((turn.first_token - turn.sent) * 1000 - first_token_ms)
    first_token = [value for value in measured.values_list("first_token_ms", flat=True) if value]
    return {
        "records": len(retrieval),
        "statuses": dict(
            measured.values("status").annotate(n=Count("id")).values_list("status", "n")
        ),
        "retrieval_ms": summary(retrieval),
        "first_token_ms": summary(first_token),
        "ttft_outside_consumer_ms": summary(outside),
        "total_ms": summary(list(measured.values_list("total_ms", flat=True))),
        "retrieval_ms_added_per_queued_chat": round(slope, 1),
        "warmup_retrieval_ms": [round(v, 1) for v in warm.values_list("retrieval_ms", flat=True)],
    }


def analyse(
    conversations: Sequence[Conversation],
    *,
    turns_each: int,
    reply: str,
    reply_words: int,
    wall_s: float,
) -> dict[str, Any]:
    turns = [turn for conversation in conversations for turn in conversation.turns]
    errors = [f"user {c.user}: {c.error}" for c in conversations if c.error]
    errors += [
        f"user {c.user}: {turn.error}" for c in conversations for turn in c.turns if turn.error
    ]
    finished = [turn for turn in turns if turn.done is not None]
    mismatches = [
        turn for turn in finished if turn.text != reply or turn.completion_tokens != reply_words
    ]
    ttft = [turn.first_token - turn.sent for turn in finished if turn.first_token]
    per_chat_rate = [
        turn.completion_tokens / (turn.done - turn.first_token)
        for turn in finished
        if turn.done and turn.first_token and turn.done > turn.first_token
    ]
    wrong = {id(turn) for turn in mismatches}
    delivered = sum(turn.completion_tokens for turn in finished if id(turn) not in wrong)
    return {
        "connections": len(conversations),
        "chats": len(conversations) * turns_each,
        "completed": len(finished),
        "errors": len(errors),
        "error_samples": errors[:ERROR_SAMPLES],
        "mismatches": len(mismatches),
        "connect_ms": summary([c.connected_s for c in conversations if c.connected_s], 1000),
        "ttft_ms": summary(ttft, 1000),
        "first_to_last_token_ms": summary(
            [t.last_token - t.first_token for t in finished if t.last_token and t.first_token],
            1000,
        ),
        "last_token_to_done_ms": summary(
            [t.done - t.last_token for t in finished if t.done and t.last_token], 1000
        ),
        "send_to_done_ms": summary([t.done - t.sent for t in finished if t.done], 1000),
        "token_frames_per_chat": summary([t.frames for t in finished]),
        "wall_s": round(wall_s, 2),
        "tokens_delivered": delivered,
        "aggregate_tokens_per_s": round(delivered / wall_s, 1) if wall_s else None,
        "per_chat_tokens_per_s": summary(per_chat_rate),
    }


def failed(result: dict[str, Any]) -> bool:
    return bool(result["errors"] or result["mismatches"] or result["completed"] < result["chats"])


def print_report(result: dict[str, Any]) -> None:
    server = result["server"]
    print(
        f"{result['connections']} connections, {result['chats']} chats: "
        f"{result['completed']} completed, {result['errors']} errors, "
        f"{result['mismatches']} mismatches; wall {result['wall_s']} s"
    )
    rows = [
        ("connect + ready (ms)", result["connect_ms"]),
        ("time to first token (ms)", result["ttft_ms"]),
        ("  consumer: retrieval (ms)", server["retrieval_ms"]),
        ("  consumer: first token (ms)", server["first_token_ms"]),
        ("  outside the consumer (ms)", server["ttft_outside_consumer_ms"]),
        ("first to last token (ms)", result["first_to_last_token_ms"]),
        ("last token to done (ms)", result["last_token_to_done_ms"]),
        ("send to done (ms)", result["send_to_done_ms"]),
        ("per-chat tokens/s", result["per_chat_tokens_per_s"]),
    ]
    print(f"{'':<32}" + "".join(f"{column:>10}" for column in ("p50", "p95", "mean", "max")))
    for label, stats in rows:
        if stats:
            values = "".join(f"{stats[column]:>10.1f}" for column in ("p50", "p95", "mean", "max"))
            print(f"{label:<32}{values}")
    print(
        f"aggregate: {result['tokens_delivered']} tokens in {result['wall_s']} s = "
        f"{result['aggregate_tokens_per_s']} tokens/s"
    )
    print(
        f"consumer retrieval grows {server['retrieval_ms_added_per_queued_chat']} ms per queued "
        f"chat; warm-up chats, one at a time: {server['warmup_retrieval_ms']} ms"
    )
    for name, usage in result["processes"].items():
        print(f"{name}: {json.dumps(usage)}")


# --- main -----------------------------------------------------------------------------------


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


def mint_conversations(api_key: ApiKey, users: Sequence[int], prefix: str) -> list[Conversation]:
    return [
        Conversation(
            user=user,
            token=widget_token_mint(api_key=api_key, end_user_external_id=f"{prefix}-{user}")[0],
        )
        for user in users
    ]


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
