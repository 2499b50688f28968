"""The generated data of bench/search_latency.py: its shape, the text pool and the table's layout.

The pool is the real LoCoMo turns, embedded once as the product embeds a message; the layout
says, for every message row, its end user, thread, position, time and pool turn. Imported by
the script after django.setup().
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from memory.models import EMBEDDING_DIMENSIONS

VENDOR_SLUG = "bench-latency"
LOCOMO = Path(os.environ.get("INFYN_LOCOMO", "/work/shared/data/locomo10.json"))
CONTEXT_REPLY_CHARS = 300  # as memory.services.CONTEXT_REPLY_CHARS
SUMMARY_WINDOW = 20
FACT_EVERY = 10
HISTORY_DAYS = 730


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
