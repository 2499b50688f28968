"""Hybrid retrieval over the three memory tiers, for one end user.

Candidates come from PostgreSQL in one statement with a part per tier: the nearest
embeddings (HNSW, cosine, with pgvector's iterative scan so the end-user filter never
starves the result) and the best full-text matches (GIN; any query term may match, weighted
by its IDF among the end user's own messages), then, for messages, the turns right before
and after each. Every candidate is scored, in the statement:

    base  = w_similarity * cosine + w_lexical * idf_match + w_date * date_match
    score = base
          + w_neighbour * best base of the adjacent turns       (messages)
          + w_thread_context * best base in the same thread     (messages)
          - w_speaker * [the query names someone else]
          + w_recency * half-life decay + w_thread * [same thread]
          + w_importance * importance + w_mentions * mention boost   (facts)

Weighted score fusion beat reciprocal rank fusion on LoCoMo (docs/benchmarks.md). Every
component is returned with each result, so a ranking can be explained.
"""

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from rapidfuzz import fuzz

from memory.embeddings import embed_query
from memory.models import TermStat, VendorMemorySettings
from memory.query import query_plan
from memory.ranking import RankingWeights, RankingWeightsError, default_weights
from memory.search_sql import ALL_TYPES, MemoryType, query_params, search_sql, tier_order
from memory.selectors import speakers_list
from tenants.models import EndUser, Thread

logger = logging.getLogger(__name__)


@dataclass
class ScoredMemory:
    type: MemoryType
    id: int
    text: str
    thread_id: str | None
    created_at: datetime
    source_message_ids: list[int]
    score: float = 0.0
    components: dict[str, float] = field(default_factory=dict)
    role: str | None = None
    name: str | None = None
    # For messages: the turn with the one it replies to, as it was indexed.
    context: str | None = None


# Vendors' ranking overrides change rarely (the admin); each process reads them at most
# this often instead of on every search.
WEIGHTS_CACHE_SECONDS = 30.0
_weights_cache: dict[UUID, tuple[float, RankingWeights]] = {}


def weights_for_vendor(vendor_id: UUID) -> RankingWeights:
    """The platform's weights with the vendor's overrides applied (cached briefly).

    Overrides saved before a rule that now refuses them fall back to the platform's weights
    (with a warning), so that the vendor's searches keep working until someone fixes them.
    """
    cached = _weights_cache.get(vendor_id)
    if cached is not None and time.monotonic() - cached[0] < WEIGHTS_CACHE_SECONDS:
        return cached[1]
    overrides = (
        VendorMemorySettings.objects.filter(vendor_id=vendor_id)
        .values_list("ranking", flat=True)
        .first()
    )
    defaults = default_weights()
    try:
        weights = defaults.merged(overrides)
    except (TypeError, RankingWeightsError) as exc:
        logger.warning(
            "memory: vendor %s's ranking overrides are refused (%s); using the defaults",
            vendor_id,
            exc,
        )
        weights = defaults
    _weights_cache[vendor_id] = (time.monotonic(), weights)
    return weights


def weights_forget(vendor_id: UUID) -> None:
    """Drop a vendor's cached weights in this process (after its overrides change)."""
    _weights_cache.pop(vendor_id, None)


def memories_search(
    *,
    end_user: EndUser,
    query: str,
    k: int = 10,
    thread: Thread | None = None,
    types: Sequence[MemoryType] = ALL_TYPES,
    weights: RankingWeights | None = None,
    query_vector: np.ndarray | None = None,
    now: datetime | None = None,
    history_messages: int | None = None,
) -> list[ScoredMemory]:
    """The end user's ``k`` most relevant memories for ``query``, best first.

    ``history_messages``: how many messages the end user has, when the caller knows.
    """
    weights = weights or weights_for_vendor(end_user.vendor_id)
    sql_types = tier_order(types)
    # Embedding is CPU work: done before the transaction opens, not inside it.
    params = search_params(
        end_user=end_user,
        query=query,
        weights=weights,
        query_vector=query_vector,
        thread=thread,
        now=now,
        keep=k * KEEP_PER_TIER_FACTOR,
    )
    with search_transaction(weights, end_user=end_user) as (cursor, stored_messages):
        messages = history_messages if history_messages is not None else stored_messages
        cursor.execute(search_sql(sql_types, history_messages=messages), params)
        candidates = [_row_to_memory(row) for row in cursor.fetchall()]
    candidates.sort(key=lambda item: item.score, reverse=True)
    return _drop_near_duplicates(candidates, weights.duplicate_ratio, k)


@contextmanager
def search_transaction(weights: RankingWeights, *, end_user: EndUser) -> Iterator[tuple[Any, int]]:
    """A cursor in a transaction with the settings the search statement needs, and how many
    messages the end user has (from the running totals), both in one round trip.

    Filtered HNSW scans keep going until enough rows pass the end-user filter; enough
    work_mem keeps full-text bitmaps exact instead of rechecking pages. Inside a caller's
    transaction (chat builds its context in one) no savepoint is made: the settings then
    last until that transaction ends, and the search is its last statement.
    """
    ef_search = max(40, int(weights.candidates))
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', %(ef_search)s, true), "
            "set_config('work_mem', '64MB', true), "
            "(SELECT document_count FROM memory_termstat "
            " WHERE end_user_id = %(end_user)s AND lexeme = %(documents)s)",
            {
                "ef_search": str(ef_search),
                "end_user": end_user.pk,
                "documents": TermStat.DOCUMENTS_LEXEME,
            },
        )
        row = cursor.fetchone()
        yield cursor, int(row[3] or 0)


# Each tier returns only its best k * this many candidates, fully scored, so a search does
# not ship and parse hundreds of rows to keep ten; the spare ones cover the near-duplicates
# that the final cut drops.
KEEP_PER_TIER_FACTOR = 2


def search_params(
    *,
    end_user: EndUser,
    query: str,
    weights: RankingWeights,
    query_vector: np.ndarray | None = None,
    thread: Thread | None = None,
    now: datetime | None = None,
    keep: int = 10 * KEEP_PER_TIER_FACTOR,
) -> dict[str, Any]:
    """The search statement's parameters for ``query``, embedding it unless given."""
    plan = query_plan(query, speakers=speakers_list(end_user=end_user))
    vector = query_vector if query_vector is not None else embed_query(plan.embed_text)
    return query_params(end_user, plan, vector, weights) | {
        "thread": thread.pk if thread is not None else None,
        "now": now or timezone.now(),
        "keep": keep,
    }


def _row_to_memory(row: Sequence[Any]) -> ScoredMemory:
    (
        memory_type,
        row_id,
        text,
        thread_id,
        created_at,
        sources,
        importance,
        mentions,
        similarity,
        lexical,
        date_match,
        base,
        speaker_match,
        neighbour,
        thread_context,
        role,
        name,
        context,
        recency,
        same_thread,
        mention_boost,
        score,
    ) = row
    return ScoredMemory(
        type=memory_type,
        id=row_id,
        text=text,
        thread_id=str(thread_id) if thread_id else None,
        created_at=created_at,
        source_message_ids=list(sources or []),
        role=role,
        name=name,
        context=context,
        components={
            "similarity": float(similarity),
            "lexical": float(lexical),
            "date_match": float(date_match),
            "base": float(base),
            "speaker_match": 1.0 if speaker_match else 0.0,
            "neighbour": float(neighbour),
            "thread_context": float(thread_context),
            "importance": float(importance),
            "mentions": float(mentions),
            "recency": float(recency),
            "same_thread": float(same_thread),
            "mention_boost": float(mention_boost),
            "score": float(score),
        },
        score=float(score),
    )


def _drop_near_duplicates(
    items: list[ScoredMemory], threshold: float, k: int
) -> list[ScoredMemory]:
    """The best ``k`` items, skipping any that repeats one already kept almost verbatim."""
    kept: list[ScoredMemory] = []
    kept_texts: list[str] = []
    for item in items:
        if len(kept) == k:
            break
        text = item.text.lower()
        if any(fuzz.ratio(text, other) >= threshold for other in kept_texts):
            continue
        kept.append(item)
        kept_texts.append(text)
    return kept
