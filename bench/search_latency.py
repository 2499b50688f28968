"""Search and context-build latency for one end user with a large history, in a large table.

Usage (from the repository root; the default data directory is var/bench-latency, an embedded
PostgreSQL of its own, so dev and test data are never touched):

    INFYN_DATA_DIR=var/bench-latency python bench/search_latency.py \\
        --rows 1000000 --end-users 1000 --big-user-rows 100000 --queries 200 \\
        --maintenance-work-mem 4GB --json /tmp/search_latency.json

    # later runs reuse the loaded table:
    INFYN_DATA_DIR=var/bench-latency python bench/search_latency.py --skip-load --json OUT

How the data is generated (also written into the JSON): 1M real MiniLM embeddings take hours on
2 cores, so the 5,882 real LoCoMo turns are a text pool, embedded once with the product's model
as a message is embedded, 'Name: text' (cached in $INFYN_DATA_DIR/pool-turns.npy). Every thread
replays a run of consecutive pool turns from a random starting point (so a message's "replying
to" context is the turn before it, as in the product), and every row's vector is its pool vector
plus Gaussian noise, re-normalised: vectors cluster like real text without being duplicates.
Facts (one per 10 messages) and summaries (one per 20-turn window) are derived from those
messages. Rows are inserted in global time order, so
an end user's rows are scattered over the table as they would be in production.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-latency"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")
# Importing torch warms a thread pool per process; keep the log quiet.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from tqdm import tqdm  # noqa: E402

from memory.models import EMBEDDING_DIMENSIONS, Fact, Message, Summary, TermStat  # noqa: E402
from tenants.models import EndUser, Thread, Vendor  # noqa: E402

VENDOR_SLUG = "bench-latency"
LOCOMO = Path(os.environ.get("INFYN_LOCOMO", "/work/shared/data/locomo10.json"))
CONTEXT_REPLY_CHARS = 300  # as memory.services.CONTEXT_REPLY_CHARS
SUMMARY_WINDOW = 20
FACT_EVERY = 10
HISTORY_DAYS = 730
CHUNK = 5000
WARMUP = 10
MEMORY_TABLES = ("memory_message", "memory_fact", "memory_summary")
FACT_CATEGORIES = ["identity", "preference", "relationship", "event", "plan", "attribute", "other"]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the text pool --------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    name: str
    role: str
    content: str


def locomo_turns(path: Path) -> list[Turn]:
    samples = json.loads(path.read_text())
    turns: list[Turn] = []
    for sample in samples:
        conversation = sample["conversation"]
        speaker_a = conversation["speaker_a"]
        numbers = sorted(
            int(key.removeprefix("session_"))
            for key, value in conversation.items()
            if key.startswith("session_") and not key.endswith("date_time") and value
        )
        for number in numbers:
            for turn in conversation[f"session_{number}"]:
                role = "user" if turn["speaker"] == speaker_a else "assistant"
                turns.append(Turn(name=turn["speaker"], role=role, content=turn["text"]))
    return turns


def locomo_questions(path: Path) -> list[str]:
    samples = json.loads(path.read_text())
    return [qa["question"] for sample in samples for qa in sample["qa"]]


def plain_text(turn: Turn) -> str:
    return f"{turn.name}: {turn.content}" if turn.name else turn.content


def reply_text(turn: Turn, previous: Turn) -> str:
    """memory.services.message_context_text, for a turn that answers ``previous``."""
    before = previous.content[:CONTEXT_REPLY_CHARS]
    return f"{plain_text(turn)} (replying to {previous.name or previous.role}: {before})"


def embedding_text(turn: Turn) -> str:
    """What the product embeds for a message: the turn alone, with its speaker's name."""
    try:
        from memory.services import message_embedding_text
    except ImportError:
        return plain_text(turn)
    return message_embedding_text(name=turn.name, content=turn.content)


def pool_vectors(pool: list[Turn], cache: Path) -> np.ndarray:
    """The real embedding of every pool turn, as the product embeds a message."""
    if cache.exists():
        vectors = np.load(cache)
        if vectors.shape == (len(pool), EMBEDDING_DIMENSIONS):
            log(f"pool vectors: cached in {cache}")
            return vectors
    from memory.embeddings import embed_texts

    texts = [embedding_text(turn) for turn in pool]
    batches = [texts[start : start + 256] for start in range(0, len(texts), 256)]
    parts = [embed_texts(batch) for batch in tqdm(batches, desc="embed pool", unit="batch")]
    vectors = np.concatenate(parts).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def first_sentence(text: str, limit: int = 160) -> str:
    for mark in (". ", "! ", "? "):
        cut = text.find(mark)
        if 0 < cut < limit:
            return text[: cut + 1]
    return text[:limit]


# --- the layout of the table ----------------------------------------------------------------


@dataclass
class Layout:
    """One entry per message, ordered by (end user, time); ``order`` is insertion order."""

    user: np.ndarray
    thread: np.ndarray
    position: np.ndarray
    seconds: np.ndarray
    pool: np.ndarray
    ids: np.ndarray
    order: np.ndarray
    thread_user: np.ndarray
    thread_local: np.ndarray
    thread_first_row: np.ndarray
    thread_length: np.ndarray
    counts: np.ndarray


def layout(args: argparse.Namespace, pool_size: int, rng: np.random.Generator) -> Layout:
    others = args.end_users - 1
    rest = args.rows - args.big_user_rows
    if others < 1 or rest < others:
        raise SystemExit("--rows must leave at least one message for each of the other end users")
    base, extra = divmod(rest, others)
    counts = np.array(
        [args.big_user_rows] + [base + (1 if i < extra else 0) for i in range(others)],
        dtype=np.int64,
    )
    user = np.repeat(np.arange(args.end_users), counts)
    seconds = rng.uniform(0, HISTORY_DAYS * 86400.0, args.rows)
    seconds = seconds[np.lexsort((seconds, user))]  # each user's messages in time order
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    k = np.arange(args.rows) - starts[user]
    thread_local = k // args.thread_size
    threads_per_user = -(-counts // args.thread_size)
    thread_offset = np.concatenate([[0], np.cumsum(threads_per_user)[:-1]])
    thread = thread_offset[user] + thread_local
    position = (k % args.thread_size + 1).astype(np.int64)
    n_threads = int(threads_per_user.sum())
    thread_user = np.repeat(np.arange(args.end_users), threads_per_user)
    thread_first_row = np.searchsorted(thread, np.arange(n_threads))
    thread_length = np.bincount(thread, minlength=n_threads)
    start = rng.integers(0, pool_size, n_threads)
    pool = (start[thread] + position - 1) % pool_size
    order = np.argsort(seconds, kind="stable")
    ids = np.empty(args.rows, dtype=np.int64)
    ids[order] = np.arange(1, args.rows + 1)
    return Layout(
        user=user,
        thread=thread,
        position=position,
        seconds=seconds,
        pool=pool,
        ids=ids,
        order=order,
        thread_user=thread_user,
        thread_local=np.arange(n_threads) - thread_offset[thread_user],
        thread_first_row=thread_first_row,
        thread_length=thread_length,
        counts=counts,
    )


def noisy(base: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    vectors = base + rng.normal(0.0, sigma, base.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


# --- loading --------------------------------------------------------------------------------


def conninfo() -> dict[str, Any]:
    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    return params


@contextmanager
def watched(
    backend_pid: int, *, nice: int, label: str | None = None, total: int | None = None
) -> Iterator[None]:
    """While the block runs: keep the backend and its parallel workers at low priority and,
    for CREATE INDEX, show pg_stat_progress_create_index as a progress bar."""
    stop = threading.Event()
    bar = tqdm(total=total, desc=label, unit="tuple") if label else None

    def poll() -> None:
        with psycopg.connect(**conninfo(), autocommit=True) as watcher:
            while not stop.is_set():
                pids = watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE pid = %s OR leader_pid = %s",
                    [backend_pid, backend_pid],
                ).fetchall()
                for (pid,) in pids:
                    try:
                        if os.getpriority(os.PRIO_PROCESS, pid) < nice:
                            os.setpriority(os.PRIO_PROCESS, pid, nice)
                    except OSError:
                        pass
                if bar is not None:
                    row = watcher.execute(
                        "SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total "
                        "FROM pg_stat_progress_create_index WHERE pid = %s",
                        [backend_pid],
                    ).fetchone()
                    if row:
                        phase, tuples_done, tuples_total, blocks_done, blocks_total = row
                        done, all_ = (
                            (tuples_done, tuples_total)
                            if tuples_total
                            else (blocks_done, blocks_total)
                        )
                        bar.total = all_ or bar.total
                        bar.n = done or 0
                        bar.set_postfix_str(phase, refresh=False)
                        bar.refresh()
                stop.wait(2.0)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if bar is not None:
            bar.close()


def bench_vendor() -> Vendor | None:
    return Vendor.objects.filter(slug=VENDOR_SLUG).first()


def loaded_rows() -> int:
    vendor = bench_vendor()
    if vendor is None:
        return 0
    return Message.objects.filter(end_user__vendor=vendor).count()


def clear_previous_load() -> None:
    if Vendor.objects.exclude(slug=VENDOR_SLUG).exists():
        raise SystemExit(
            "This database holds other vendors' data; point INFYN_DATA_DIR at a data directory "
            "of its own (default var/bench-latency)."
        )
    from memory.indexes import own_indexes_existing

    with connection.cursor() as cursor:
        # The previous big end user's own indexes would be rebuilt, empty, with the rest.
        for name in own_indexes_existing():
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute(
            "TRUNCATE memory_summary, memory_fact, memory_termstat, memory_outboxjob, "
            "memory_message RESTART IDENTITY CASCADE"
        )
    Vendor.objects.filter(slug=VENDOR_SLUG).delete()


def create_tenants(plan: Layout, now: datetime) -> tuple[list[EndUser], list[Thread]]:
    vendor = Vendor.objects.create(name="Latency benchmark", slug=VENDOR_SLUG)
    start = now - timedelta(days=HISTORY_DAYS)
    users = [
        EndUser(vendor=vendor, external_id=f"user-{index:04d}", created_at=start)
        for index in range(len(plan.counts))
    ]
    EndUser.objects.bulk_create(users, batch_size=1000)
    threads = [
        Thread(
            end_user=users[int(plan.thread_user[t])],
            external_id=f"thread-{int(plan.thread_local[t]):04d}",
            created_at=start + timedelta(seconds=float(plan.seconds[plan.thread_first_row[t]])),
        )
        for t in range(len(plan.thread_user))
    ]
    Thread.objects.bulk_create(threads, batch_size=1000)
    return users, threads


def load(args: argparse.Namespace) -> None:
    """Fill the memory tables; runs in a child process at low priority."""
    os.nice(args.nice)
    rng = np.random.default_rng(args.seed)
    data_dir = Path(settings.DATA_DIR)
    pool = locomo_turns(LOCOMO)
    log(f"text pool: {len(pool)} LoCoMo turns")
    vectors = pool_vectors(pool, data_dir / "pool-turns.npy")
    plain = [plain_text(turn) for turn in pool]
    replies = [reply_text(turn, pool[index - 1]) for index, turn in enumerate(pool)]
    tokens = [len(turn.content.split()) for turn in pool]
    sentences = [first_sentence(turn.content) for turn in pool]

    if loaded_rows() or bench_vendor():
        log("clearing the previous load")
        clear_previous_load()
    plan = layout(args, len(pool), rng)
    now = datetime.now(UTC).replace(microsecond=0)
    epoch = now - timedelta(days=HISTORY_DAYS)
    users, threads = create_tenants(plan, now)
    user_ids = [user.pk for user in users]
    thread_ids = [thread.pk for thread in threads]
    connections.close_all()

    from pgvector.psycopg import register_vector

    with psycopg.connect(**conninfo(), autocommit=True) as conn:
        register_vector(conn)
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        with suppress(psycopg.Error):
            conn.execute("SET session_replication_role = replica")  # skip FK triggers
        conn.execute("SET synchronous_commit = off")
        definitions = drop_vector_and_text_indexes(conn, data_dir)
        timings: dict[str, float] = {}
        with watched(pid, nice=args.nice):
            started = time.perf_counter()
            copy_messages(
                conn,
                plan,
                pool,
                plain,
                replies,
                tokens,
                vectors,
                user_ids,
                thread_ids,
                epoch,
                args.noise,
                rng,
            )
            copy_facts(conn, plan, pool, sentences, vectors, user_ids, epoch, args.noise, rng)
            copy_summaries(
                conn, plan, pool, sentences, vectors, user_ids, thread_ids, epoch, args.noise, rng
            )
            for table in MEMORY_TABLES:
                setval = (
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
                conn.execute(setval)
            timings["copy_s"] = time.perf_counter() - started
        conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        for name, definition in definitions:
            table = definition.split(" ON ")[1].split()[0].split(".")[-1]
            count_sql = f"SELECT count(*) FROM {table}"  # noqa: S608 (from the catalog)
            rows = conn.execute(count_sql).fetchone()[0]  # type: ignore[index]
            started = time.perf_counter()
            with watched(pid, nice=args.nice, label=f"index {name}", total=rows):
                conn.execute(definition)
            timings[f"index_{name}_s"] = time.perf_counter() - started
            log(f"index {name}: {timings[f'index_{name}_s']:.0f} s")
        (data_dir / "dropped_indexes.json").unlink(missing_ok=True)
        started = time.perf_counter()
        with watched(pid, nice=args.nice):
            term_stats_rebuild(conn)
        timings["term_stats_s"] = time.perf_counter() - started
        started = time.perf_counter()
        with watched(pid, nice=args.nice):
            for table in (*MEMORY_TABLES, "memory_termstat", "tenants_thread", "tenants_enduser"):
                log(f"vacuum analyze {table}")
                conn.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum_s"] = time.perf_counter() - started
        (data_dir / "load_timings.json").write_text(json.dumps(timings, indent=2))
        log("load timings: " + json.dumps({k: round(v) for k, v in timings.items()}))


def drop_vector_and_text_indexes(
    conn: psycopg.Connection[Any], data_dir: Path
) -> list[tuple[str, str]]:
    """Drop the HNSW and GIN indexes (rebuilt after COPY); returns their definitions.

    The definitions are read from the catalog, so they are exactly the migration's; they are
    also saved, so that a load interrupted before the rebuild can still restore them.
    """
    saved = data_dir / "dropped_indexes.json"
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
        "AND (indexdef LIKE '%% USING hnsw %%' OR indexdef LIKE '%% USING gin %%')",
        [list(MEMORY_TABLES)],
    ).fetchall()
    definitions: dict[str, str] = dict(rows)
    if saved.exists():
        definitions.update(dict(json.loads(saved.read_text())))
    saved.write_text(json.dumps(sorted(definitions.items())))
    for name in definitions:
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    # GIN first: the HNSW builds are the long part, and a GIN index is useful on its own.
    return sorted(definitions.items(), key=lambda item: (" USING hnsw " in item[1], item[0]))


def _timestamps(epoch: datetime, seconds: np.ndarray) -> list[datetime]:
    return [epoch + timedelta(seconds=float(value)) for value in seconds]


def copy_messages(
    conn: psycopg.Connection[Any],
    plan: Layout,
    pool: list[Turn],
    plain: list[str],
    replies: list[str],
    tokens: list[int],
    vectors: np.ndarray,
    user_ids: list[uuid.UUID],
    thread_ids: list[uuid.UUID],
    epoch: datetime,
    sigma: float,
    rng: np.random.Generator,
) -> None:
    columns = (
        "id, end_user_id, thread_id, role, name, content, context_text, position, created_at, "
        "token_count, embedding"
    )
    types = [
        "int8",
        "uuid",
        "uuid",
        "varchar",
        "varchar",
        "text",
        "text",
        "int4",
        "timestamptz",
        "int4",
        "vector",
    ]
    with (
        tqdm(total=len(plan.order), desc="copy memory_message", unit="row") as bar,
        conn.cursor() as cursor,
        cursor.copy(f"COPY memory_message ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        for start in range(0, len(plan.order), CHUNK):
            rows = plan.order[start : start + CHUNK]
            pool_index = plan.pool[rows]
            embedded = noisy(vectors[pool_index], sigma, rng)
            created = _timestamps(epoch, plan.seconds[rows])
            for i, row in enumerate(rows.tolist()):
                p = int(pool_index[i])
                turn = pool[p]
                position = int(plan.position[row])
                copy.write_row(
                    (
                        int(plan.ids[row]),
                        user_ids[int(plan.user[row])],
                        thread_ids[int(plan.thread[row])],
                        turn.role,
                        turn.name,
                        turn.content,
                        replies[p] if position > 1 else plain[p],
                        position,
                        created[i],
                        tokens[p],
                        embedded[i],
                    )
                )
            bar.update(len(rows))


def copy_facts(
    conn: psycopg.Connection[Any],
    plan: Layout,
    pool: list[Turn],
    sentences: list[str],
    vectors: np.ndarray,
    user_ids: list[uuid.UUID],
    epoch: datetime,
    sigma: float,
    rng: np.random.Generator,
) -> None:
    """One fact per FACT_EVERY messages, stated from the first sentence of one of them."""
    sources = np.flatnonzero(plan.position % FACT_EVERY == FACT_EVERY // 2)
    sources = sources[np.argsort(plan.seconds[sources], kind="stable")]
    columns = (
        "id, end_user_id, subject, attribute, value, text, category, negated, multi_valued, "
        "importance, confidence, mention_count, first_seen_at, last_seen_at, valid_from, "
        "valid_to, source_message_ids, extractor, created_at, updated_at, embedding"
    )
    types = [
        "int8",
        "uuid",
        "varchar",
        "varchar",
        "text",
        "text",
        "varchar",
        "bool",
        "bool",
        "float8",
        "float8",
        "int4",
        "timestamptz",
        "timestamptz",
        "timestamptz",
        "timestamptz",
        "int8[]",
        "varchar",
        "timestamptz",
        "timestamptz",
        "vector",
    ]
    with (
        tqdm(total=len(sources), desc="copy memory_fact", unit="row") as bar,
        conn.cursor() as cursor,
        cursor.copy(f"COPY memory_fact ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        next_id = 1
        for start in range(0, len(sources), CHUNK):
            rows = sources[start : start + CHUNK]
            embedded = noisy(vectors[plan.pool[rows]], sigma, rng)
            created = _timestamps(epoch, plan.seconds[rows])
            categories = rng.integers(0, len(FACT_CATEGORIES), len(rows))
            importance = rng.uniform(0.2, 0.9, len(rows))
            confidence = rng.uniform(0.5, 1.0, len(rows))
            mentions = np.minimum(rng.geometric(0.5, len(rows)), 20)
            superseded = rng.random(len(rows)) < 0.1
            for i, row in enumerate(rows.tolist()):
                p = int(plan.pool[row])
                turn = pool[p]
                category = FACT_CATEGORIES[int(categories[i])]
                valid_to = created[i] + timedelta(days=30) if superseded[i] else None
                copy.write_row(
                    (
                        next_id,
                        user_ids[int(plan.user[row])],
                        turn.name,
                        category,
                        sentences[p],
                        f"{turn.name}: {sentences[p]}",
                        category,
                        False,
                        False,
                        float(importance[i]),
                        float(confidence[i]),
                        int(mentions[i]),
                        created[i],
                        created[i],
                        created[i],
                        valid_to,
                        [int(plan.ids[row])],
                        "bench",
                        created[i],
                        created[i],
                        embedded[i],
                    )
                )
                next_id += 1
            bar.update(len(rows))


def copy_summaries(
    conn: psycopg.Connection[Any],
    plan: Layout,
    pool: list[Turn],
    sentences: list[str],
    vectors: np.ndarray,
    user_ids: list[uuid.UUID],
    thread_ids: list[uuid.UUID],
    epoch: datetime,
    sigma: float,
    rng: np.random.Generator,
) -> None:
    """One summary per full SUMMARY_WINDOW turns of a thread: its turns' first sentences,
    embedded as the normalised mean of their vectors plus noise."""
    length = plan.thread_length[plan.thread]
    firsts = np.flatnonzero(
        ((plan.position - 1) % SUMMARY_WINDOW == 0) & (plan.position + SUMMARY_WINDOW - 1 <= length)
    )
    lasts = firsts + SUMMARY_WINDOW - 1
    firsts = firsts[np.argsort(plan.seconds[lasts], kind="stable")]
    columns = (
        "id, end_user_id, thread_id, first_message_id, last_message_id, message_count, "
        "source_message_ids, text, summarizer, created_at, embedding"
    )
    types = [
        "int8",
        "uuid",
        "uuid",
        "int8",
        "int8",
        "int4",
        "int8[]",
        "text",
        "varchar",
        "timestamptz",
        "vector",
    ]
    with (
        tqdm(total=len(firsts), desc="copy memory_summary", unit="row") as bar,
        conn.cursor() as cursor,
        cursor.copy(f"COPY memory_summary ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        next_id = 1
        for start in range(0, len(firsts), CHUNK):
            chunk = firsts[start : start + CHUNK]
            windows = chunk[:, None] + np.arange(SUMMARY_WINDOW)[None, :]
            means = vectors[plan.pool[windows]].mean(axis=1)
            means /= np.linalg.norm(means, axis=1, keepdims=True)
            embedded = noisy(means, sigma, rng)
            created = _timestamps(epoch, plan.seconds[windows[:, -1]])
            for i, window in enumerate(windows.tolist()):
                turns = [int(plan.pool[row]) for row in window]
                names = sorted({pool[p].name for p in turns})
                text = (
                    f"{' and '.join(names)} talked: " + " ".join(sentences[p] for p in turns[::3])
                )[:700]
                copy.write_row(
                    (
                        next_id,
                        user_ids[int(plan.user[window[0]])],
                        thread_ids[int(plan.thread[window[0]])],
                        int(plan.ids[window[0]]),
                        int(plan.ids[window[-1]]),
                        SUMMARY_WINDOW,
                        [int(plan.ids[row]) for row in window],
                        text,
                        "bench",
                        created[i],
                        embedded[i],
                    )
                )
                next_id += 1
            bar.update(len(chunk))


def term_stats_rebuild(conn: psycopg.Connection[Any]) -> None:
    """Every end user's document frequencies, as memory.services.term_stats_add keeps them."""
    log("term statistics: rebuilding memory_termstat")
    conn.execute("SET work_mem = '1GB'")
    conn.execute("TRUNCATE memory_termstat RESTART IDENTITY")
    conn.execute(
        """
        INSERT INTO memory_termstat (end_user_id, lexeme, document_count)
        SELECT end_user_id, lexeme, count(*)
        FROM memory_message, unnest(tsvector_to_array(search_vector)) AS lexeme
        WHERE length(lexeme) <= 200
        GROUP BY 1, 2
        UNION ALL
        SELECT end_user_id, %s, count(*) FROM memory_message GROUP BY 1
        UNION ALL
        SELECT end_user_id, %s, sum(token_count) FROM memory_message GROUP BY 1
        ORDER BY 1, 2
        """,
        [TermStat.DOCUMENTS_LEXEME, TermStat.TOKENS_LEXEME],
    )
    conn.execute("RESET work_mem")


# --- measuring ------------------------------------------------------------------------------


def own_indexes_apply(*, enabled: bool) -> dict[str, Any]:
    """Build the own indexes the periodic task would build (memory.indexes), or drop them."""
    from memory.indexes import own_indexes_existing, own_indexes_sync

    started = time.perf_counter()
    if enabled:
        report = own_indexes_sync(on_step=lambda what, _steps: log(what))
        names = sorted(name for name, valid in own_indexes_existing().items() if valid)
        log(f"own indexes: {len(report.created)} built in {time.perf_counter() - started:.0f} s")
        return {
            "enabled": True,
            "indexes": names,
            "built_now": report.created,
            "build_s": round(time.perf_counter() - started, 1),
        }
    with connection.cursor() as cursor:
        for name in own_indexes_existing():
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
    return {"enabled": False, "indexes": []}


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    data = np.asarray(values) * 1000.0
    return {
        "n": len(data),
        "p50": round(float(np.percentile(data, 50)), 2),
        "p95": round(float(np.percentile(data, 95)), 2),
        "mean": round(float(data.mean()), 2),
        "max": round(float(data.max()), 2),
    }


def timed(fn: Callable[[], Any]) -> float:
    from memory.embeddings import _embed_query_cached

    _embed_query_cached.cache_clear()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def tier_timings(end_user: EndUser, query: str) -> dict[str, float]:
    """The time of the search statement (all tiers, as memories_search runs it) and of each
    tier's part alone, run right after the search, so on cached pages: a floor."""
    from memory.ranking import default_weights
    from memory.retrieval import search_params, search_transaction
    from memory.search_sql import ALL_TYPES, search_sql

    weights = default_weights()
    params = search_params(end_user=end_user, query=query, weights=weights)
    result: dict[str, float] = {}
    with search_transaction(weights, end_user=end_user) as (cursor, messages):
        for label, types in (("all", ALL_TYPES), *((tier, (tier,)) for tier in ALL_TYPES)):
            sql = search_sql(types, history_messages=messages)
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            result[label] = time.perf_counter() - started
    return result


def explain_message_tier(end_user: EndUser, query: str) -> str:
    from memory.ranking import default_weights
    from memory.retrieval import search_params, search_transaction
    from memory.search_sql import search_sql

    weights = default_weights()
    params = search_params(end_user=end_user, query=query, weights=weights)
    with search_transaction(weights, end_user=end_user) as (cursor, messages):
        sql = search_sql(("message",), history_messages=messages)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure_user(
    end_user: EndUser, thread: Thread, questions: list[str], label: str
) -> dict[str, Any]:
    """Search and context-build timings for one end user.

    ``questions``: WARMUP questions, then the searched ones, then as many for context builds.
    A question's first statement reads index and heap pages that later ones find cached, so
    every timed search and context build gets a question of its own. The per-tier timings
    run right after each search, on its (now cached) pages: a floor.
    """
    from memory.context import context_build
    from memory.embeddings import embed_query
    from memory.retrieval import memories_search

    for question in questions[:WARMUP]:
        memories_search(end_user=end_user, query=question, k=10)
        context_build(end_user=end_user, thread=thread, new_message=question)
    count = (len(questions) - WARMUP) // 2
    searched = questions[WARMUP : WARMUP + count]
    built = questions[WARMUP + count : WARMUP + 2 * count]
    search: list[float] = []
    build: list[float] = []
    embedding: list[float] = []
    tiers: dict[str, list[float]] = {"all": [], "fact": [], "summary": [], "message": []}
    for question, other in tqdm(
        list(zip(searched, built, strict=True)), desc=f"measure {label}", unit="query"
    ):
        embedding.append(timed(lambda q=question: embed_query(q)))
        search.append(timed(lambda q=question: memories_search(end_user=end_user, query=q, k=10)))
        for tier, seconds in tier_timings(end_user, question).items():
            tiers[tier].append(seconds)
        build.append(
            timed(lambda q=other: context_build(end_user=end_user, thread=thread, new_message=q))
        )
    return {
        "search": summary_ms(search),
        "context_build": summary_ms(build),
        "embedding": summary_ms(embedding),
        "tier_sql": {tier: summary_ms(values) for tier, values in tiers.items()},
    }


def row_counts(vendor: Vendor, big: EndUser, small: EndUser) -> dict[str, int]:
    def count(model: Any, **filters: Any) -> int:
        return int(model.objects.filter(**filters).count())

    return {
        "end_users": count(EndUser, vendor=vendor),
        "threads": count(Thread, end_user__vendor=vendor),
        "messages": count(Message, end_user__vendor=vendor),
        "messages_big_user": count(Message, end_user=big),
        "messages_small_user": count(Message, end_user=small),
        "facts": count(Fact, end_user__vendor=vendor),
        "facts_big_user": count(Fact, end_user=big),
        "summaries": count(Summary, end_user__vendor=vendor),
        "summaries_big_user": count(Summary, end_user=big),
        "term_stats": count(TermStat, end_user__vendor=vendor),
    }


def generation_text(args: argparse.Namespace) -> str:
    return (
        f"Text pool: the {len(locomo_turns(LOCOMO))} real LoCoMo turns ({LOCOMO.name}), "
        "each embedded once with the product's all-MiniLM-L6-v2 as a message is embedded "
        "('Name: text'). Each thread replays a run of consecutive pool turns from a random "
        "start, with LoCoMo speaker names, so context_text ('Name: text (replying to Other: "
        "previous[:300])') quotes the real previous row of the thread; each row's "
        f"vector is its pool vector plus N(0, {args.noise}^2) noise per dimension, re-normalised. "
        f"One end user has {args.big_user_rows} messages, the other {args.end_users - 1} share "
        f"the rest of {args.rows}; threads of up to {args.thread_size} messages; timestamps "
        f"uniform over {HISTORY_DAYS} days; rows inserted in global time order (an end user's "
        f"rows are scattered over the heap). Facts: one per {FACT_EVERY} messages (first "
        "sentence of the turn, its vector plus fresh noise, 10% superseded). Summaries: one per "
        f"{SUMMARY_WINDOW}-turn window (first sentences; mean of the window's vectors plus "
        "noise). Term statistics rebuilt exactly from search_vector; VACUUM ANALYZE after. "
        f"Seed {args.seed}."
    )


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from memory.embeddings import embed_texts

    vendor = bench_vendor()
    assert vendor is not None
    big = EndUser.objects.get(vendor=vendor, external_id="user-0000")
    small = EndUser.objects.get(vendor=vendor, external_id=f"user-{args.end_users // 2:04d}")
    rng = np.random.default_rng(args.seed)
    pool = locomo_questions(LOCOMO)
    rng.shuffle(pool)
    per_round = WARMUP + 2 * args.queries
    if per_round * args.rounds > len(pool):
        raise SystemExit(
            f"{args.rounds} rounds of {args.queries} queries need {per_round * args.rounds} "
            f"distinct questions; the LoCoMo file has {len(pool)}."
        )
    embed_texts(["load the model before timing anything"])
    result: dict[str, Any] = {
        "rows": row_counts(vendor, big, small),
        "generation": generation_text(args),
        "machine": {
            "cpus": os.cpu_count(),
            "embedding_threads": settings.EMBEDDING_THREADS,
            "embedding_backend": getattr(settings, "EMBEDDING_BACKEND", "torch"),
        },
    }
    load_timings = Path(settings.DATA_DIR) / "load_timings.json"
    if load_timings.exists():
        result["load_s"] = {k: round(v, 1) for k, v in json.loads(load_timings.read_text()).items()}
    # Every round asks new questions; the figures reported are the last round's. Earlier
    # rounds stand for a server that has been answering this end user for a while.
    rounds = []
    for number in range(args.rounds):
        questions = pool[number * per_round : (number + 1) * per_round]
        per_user = {}
        for label, user in (("big_user", big), ("small_user", small)):
            thread = Thread.objects.filter(end_user=user).order_by("-created_at").first()
            assert thread is not None
            per_user[label] = measure_user(user, thread, questions, label)
        rounds.append(
            {
                label: {key: data[key] for key in ("search", "context_build")}
                for label, data in per_user.items()
            }
        )
    result["rounds"] = rounds
    result["search_ms"] = {label: data["search"] for label, data in per_user.items()}
    result["context_build_ms"] = {label: data["context_build"] for label, data in per_user.items()}
    result["embedding_ms"] = {label: data["embedding"] for label, data in per_user.items()}
    result["tier_sql_ms"] = {label: data["tier_sql"] for label, data in per_user.items()}
    result["explain_question"] = questions[WARMUP]
    result["explain"] = explain_message_tier(big, questions[WARMUP])
    result["explain_small_user"] = explain_message_tier(small, questions[WARMUP])
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"rows: {json.dumps(result['rows'])}")
    print(f"{'ms':<34}{'p50':>9}{'p95':>9}{'mean':>9}{'max':>9}")
    sections = [
        ("search", "search_ms"),
        ("context build", "context_build_ms"),
        ("embedding only", "embedding_ms"),
    ]
    for label, key in sections:
        for user, stats in result[key].items():
            print(
                f"{label + ' / ' + user:<34}"
                + "".join(f"{stats[s]:>9.1f}" for s in ("p50", "p95", "mean", "max"))
            )
    for user, tiers in result["tier_sql_ms"].items():
        for tier, stats in tiers.items():
            print(
                f"{'sql ' + tier + ' (cached) / ' + user:<34}"
                + "".join(f"{stats[s]:>9.1f}" for s in ("p50", "p95", "mean", "max"))
            )
    for number, rounds in enumerate(result.get("rounds", []), start=1):
        print(
            f"round {number}: "
            + "; ".join(
                f"{user} search {data['search']['p50']:.1f} / {data['search']['p95']:.1f}, "
                f"context build {data['context_build']['p50']:.1f} / "
                f"{data['context_build']['p95']:.1f} ms (p50 / p95)"
                for user, data in rounds.items()
            )
        )
    print("\nEXPLAIN (ANALYZE, BUFFERS), message tier, big user:\n" + result["explain"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="messages in the table")
    parser.add_argument("--end-users", type=int, default=1000)
    parser.add_argument("--big-user-rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="measured queries per end user")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure this many times, each with new questions, and report the last round "
        "(rounds before it warm the server up as serving traffic would)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded table if any")
    parser.add_argument("--thread-size", type=int, default=500, help="messages per thread")
    parser.add_argument("--noise", type=float, default=0.03, help="per-dimension vector noise")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--nice", type=int, default=10, help="niceness of the load phase")
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument(
        "--own-indexes",
        choices=("on", "off"),
        default="on",
        help="build the big end user's own partial indexes first, as the periodic task does "
        "in production (on), or drop them to measure the shared indexes alone (off)",
    )
    args = parser.parse_args()
    if os.environ.get("DATABASE_URL"):
        raise SystemExit("Unset DATABASE_URL: this benchmark uses an embedded database of its own.")
    log(f"data directory: {settings.DATA_DIR}")

    call_command("migrate", verbosity=0)
    if not (args.skip_load and loaded_rows()):
        connections.close_all()
        # The load runs in a child at low priority; measuring stays at normal priority.
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                load(args)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("loading failed")
        connections.close_all()
    own_indexes = own_indexes_apply(enabled=args.own_indexes == "on")
    result = measure(args)
    result["own_indexes"] = own_indexes
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
