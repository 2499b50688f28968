"""Loading bench/search_latency.py's table: tenants, rows, indexes, term statistics, VACUUM.

load() runs in a child process at low priority; the rest also tells the script what is loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, connections
from tqdm import tqdm

from bench.latency_copy import copy_facts, copy_messages, copy_summaries
from bench.latency_data import (
    HISTORY_DAYS,
    LOCOMO,
    VENDOR_SLUG,
    Layout,
    first_sentence,
    layout,
    locomo_turns,
    log,
    plain_text,
    pool_vectors,
    reply_text,
)
from memory.models import Message, TermStat
from tenants.models import EndUser, Thread, Vendor

MEMORY_TABLES = ("memory_message", "memory_fact", "memory_summary")


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
