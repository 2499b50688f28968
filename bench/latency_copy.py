"""Binary COPY of the generated rows into memory_message, memory_fact and memory_summary.

Used by bench/latency_load.py, with the indexes those tables search by dropped first.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from tqdm import tqdm

from bench.latency_data import FACT_EVERY, SUMMARY_WINDOW, Layout, Turn, noisy

CHUNK = 5000
FACT_CATEGORIES = ["identity", "preference", "relationship", "event", "plan", "attribute", "other"]


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
