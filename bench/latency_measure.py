"""Measuring bench/search_latency.py's end users: search, context build, each tier's SQL.

Also the own indexes set up (or dropped) before measuring and the rows and data description
the JSON reports beside the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from tqdm import tqdm

from bench.latency_data import (
    FACT_EVERY,
    HISTORY_DAYS,
    LOCOMO,
    SUMMARY_WINDOW,
    locomo_questions,
    locomo_turns,
    log,
)
from bench.latency_load import bench_vendor
from memory.models import Fact, Message, Summary, TermStat
from tenants.models import EndUser, Thread, Vendor

WARMUP = 10


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
