"""Hybrid retrieval over the three memory tiers, for one end user.

Candidates come from PostgreSQL in one statement per tier: the nearest embeddings (HNSW,
cosine, with pgvector's iterative scan so the end-user filter never starves the result)
and the best full-text matches (GIN; any query term may match, weighted by its IDF among
the end user's own messages), then, for messages, the turns right before and after each.
Every candidate is scored:

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

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rapidfuzz import fuzz

from memory.embeddings import embed_query
from memory.models import TermStat, VendorMemorySettings
from memory.query import QueryPlan, query_plan
from memory.selectors import speakers_list
from tenants.models import EndUser, Thread

MemoryType = Literal["fact", "summary", "message"]
ALL_TYPES: tuple[MemoryType, ...] = ("fact", "summary", "message")


@dataclass(frozen=True)
class RankingWeights:
    """How much each signal counts. Defaults here and in settings, overridable per vendor."""

    similarity: float = 1.0
    lexical: float = 0.5
    date: float = 0.3
    neighbour: float = 0.4
    thread_context: float = 0.4
    speaker: float = 0.5
    recency: float = 0.05
    thread: float = 0.05
    importance: float = 0.05
    mentions: float = 0.05
    fact_bias: float = 0.0
    summary_bias: float = 0.0
    half_life_days: float = 30.0
    candidates: int = 50
    # Terms in more messages than this still score but do not generate candidates: on a
    # long history they would match thousands of rows, every one fetched and scored.
    common_term_documents: int = 1000
    duplicate_ratio: float = 92.0

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "RankingWeights":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown ranking weights: {', '.join(sorted(unknown))}")
        return cls(**values)

    def merged(self, overrides: dict[str, Any] | None) -> "RankingWeights":
        if not overrides:
            return self
        RankingWeights.from_mapping(overrides)  # validates the names
        return replace(self, **overrides)


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


def default_weights() -> RankingWeights:
    return RankingWeights.from_mapping(settings.MEMORY_RANKING)


# Vendors' ranking overrides change rarely (the admin); each process reads them at most
# this often instead of on every search.
WEIGHTS_CACHE_SECONDS = 30.0
_weights_cache: dict[UUID, tuple[float, RankingWeights]] = {}


def weights_for_vendor(vendor_id: UUID) -> RankingWeights:
    """The platform's weights with the vendor's overrides applied (cached briefly)."""
    cached = _weights_cache.get(vendor_id)
    if cached is not None and time.monotonic() - cached[0] < WEIGHTS_CACHE_SECONDS:
        return cached[1]
    overrides = (
        VendorMemorySettings.objects.filter(vendor_id=vendor_id)
        .values_list("ranking", flat=True)
        .first()
    )
    weights = default_weights().merged(overrides)
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
    statements = tier_statements(
        end_user=end_user,
        query=query,
        weights=weights,
        query_vector=query_vector,
        history_messages=history_messages,
    )
    candidates: list[ScoredMemory] = []
    with search_transaction(weights) as cursor:
        for memory_type in types:
            sql, params = statements[memory_type]
            cursor.execute(sql, params)
            candidates += [_row_to_memory(memory_type, row) for row in cursor.fetchall()]
    _finish_scores(candidates, weights=weights, thread=thread, now=now or timezone.now())
    candidates.sort(key=lambda item: item.score, reverse=True)
    return _drop_near_duplicates(candidates, weights.duplicate_ratio, k)


@contextmanager
def search_transaction(weights: RankingWeights) -> Iterator[Any]:
    """A cursor in a transaction with the settings the search statements need."""
    ef_search = max(40, int(weights.candidates))
    with transaction.atomic(), connection.cursor() as cursor:
        # One round trip. Filtered HNSW scans keep going until enough rows pass the end-user
        # filter; enough work_mem keeps full-text bitmaps exact instead of rechecking pages.
        cursor.execute(
            "SET LOCAL hnsw.iterative_scan = 'relaxed_order'; "
            f"SET LOCAL hnsw.ef_search = {ef_search}; "
            "SET LOCAL work_mem = '64MB'"
        )
        yield cursor


def tier_statements(
    *,
    end_user: EndUser,
    query: str,
    weights: RankingWeights,
    query_vector: np.ndarray | None = None,
    history_messages: int | None = None,
) -> dict[MemoryType, tuple[str, dict[str, Any]]]:
    """The SQL and parameters that gather and score each tier's candidates for ``query``."""
    plan = query_plan(query, speakers=speakers_list(end_user=end_user))
    vector = query_vector if query_vector is not None else embed_query(plan.embed_text)
    params = _query_params(end_user, plan, vector, weights)
    messages = history_messages if history_messages is not None else history_size(end_user)
    use_index = messages >= FULL_TEXT_INDEX_FROM_MESSAGES
    return {tier: (_SQL[(tier, use_index)], params) for tier in ALL_TYPES}


def history_size(end_user: EndUser) -> int:
    """How many messages the end user has, from the running totals."""
    count = (
        TermStat.objects.filter(end_user=end_user, lexeme=TermStat.DOCUMENTS_LEXEME)
        .values_list("document_count", flat=True)
        .first()
    )
    return count or 0


def _query_params(
    end_user: EndUser, plan: QueryPlan, vector: np.ndarray, weights: RankingWeights
) -> dict[str, Any]:
    return {
        "end_user": end_user.pk,
        "text": plan.text,
        "vector": "[" + ",".join(f"{value:.6f}" for value in vector.tolist()) + "]",
        "speaker": plan.speaker,
        "date": plan.date,
        "date_has_day": plan.date_has_day,
        "limit": weights.candidates,
        "common": weights.common_term_documents,
        "documents": TermStat.DOCUMENTS_LEXEME,
        "w_similarity": weights.similarity,
        "w_lexical": weights.lexical,
        "w_date": weights.date,
    }


# The query's word stems with their IDF among the end user's messages, and the OR-query of
# the ones rare enough to generate candidates.
_TERMS = """
    terms AS (
        SELECT DISTINCT lexeme
        FROM unnest(tsvector_to_array(to_tsvector('english', %(text)s))) AS lexeme
    ),
    documents AS (
        SELECT coalesce(max(document_count), 0)::float8 AS n
        FROM memory_termstat WHERE end_user_id = %(end_user)s AND lexeme = %(documents)s
    ),
    weighted AS (
        SELECT quote_literal(terms.lexeme)::tsquery AS tq,
               coalesce(stat.document_count, 0) AS df,
               ln(1 + ((SELECT n FROM documents) - coalesce(stat.document_count, 0) + 0.5)
                      / (coalesce(stat.document_count, 0) + 0.5)) AS idf
        FROM terms
        LEFT JOIN memory_termstat stat
               ON stat.end_user_id = %(end_user)s AND stat.lexeme = terms.lexeme
    ),
    total AS (SELECT coalesce(nullif(sum(idf), 0), 1) AS idf FROM weighted),
    any_term AS (
        SELECT string_agg(tq::text, ' | ')::tsquery AS q FROM weighted
        WHERE df <= %(common)s
    )
"""


def _date_match(column: str) -> str:
    return f"""
        CASE WHEN %(date)s::date IS NULL THEN 0.0
             WHEN %(date_has_day)s THEN
                 CASE WHEN ({column})::date = %(date)s::date THEN 1.0
                      WHEN %(date)s::date - ({column})::date BETWEEN -1 AND 7 THEN 0.5
                      ELSE 0.0 END
             WHEN date_trunc('month', ({column})::date) = date_trunc('month', %(date)s::date)
                 THEN 1.0
             ELSE 0.0 END"""


def _candidates(table: str, where: str, *, use_full_text_index: bool) -> str:
    # The GIN index spans every end user: for a short history, a common word would match
    # rows across the whole table before the end-user filter applies. There, testing the
    # user's own rows one by one is far cheaper, and "IS TRUE" keeps the planner off GIN.
    match = (
        "row.search_vector @@ any_term.q"
        if use_full_text_index
        else "(row.search_vector @@ any_term.q) IS TRUE"
    )
    return f"""
    dense AS (
        SELECT id FROM {table}
        WHERE end_user_id = %(end_user)s {where}
        ORDER BY embedding <=> %(vector)s::vector
        LIMIT %(limit)s
    ),
    lexical AS (
        SELECT row.id FROM {table} row, any_term
        WHERE row.end_user_id = %(end_user)s {where}
          AND any_term.q IS NOT NULL AND {match}
        ORDER BY (SELECT sum(idf) FROM weighted WHERE row.search_vector @@ weighted.tq) DESC,
                 row.id
        LIMIT %(limit)s
    ),
    direct AS (SELECT id FROM dense UNION SELECT id FROM lexical)
"""


def _base(alias: str, time_column: str) -> str:
    return f"""
        1 - ({alias}.embedding <=> %(vector)s::vector) AS similarity,
        coalesce((SELECT sum(idf) FROM weighted WHERE {alias}.search_vector @@ weighted.tq), 0)
            / (SELECT idf FROM total) AS lexical,
        {_date_match(f"{alias}.{time_column}")} AS date_match"""


_BASE_SCORE = "%(w_similarity)s * similarity + %(w_lexical)s * lexical + %(w_date)s * date_match"


def _message_sql(*, use_full_text_index: bool) -> str:
    return f"""
WITH {_TERMS}, {_candidates("memory_message", "", use_full_text_index=use_full_text_index)},
    -- the turns right before and after each direct candidate
    widened AS (
        SELECT DISTINCT around.id
        FROM direct
        JOIN memory_message hit ON hit.id = direct.id
        JOIN memory_message around
          ON around.thread_id = hit.thread_id
         AND around.position BETWEEN hit.position - 1 AND hit.position + 1
    ),
    scored AS (
        SELECT m.id, m.thread_id, m.position, m.content, m.role, m.name, m.created_at,
               m.context_text,
               (%(speaker)s::text IS NULL OR m.name = %(speaker)s) AS speaker_match,
               {_base("m", "created_at")}
        FROM widened JOIN memory_message m ON m.id = widened.id
    ),
    based AS (SELECT *, {_BASE_SCORE} AS base FROM scored)
SELECT id, content, thread_id, created_at, ARRAY[id], 0.0, 1,
       similarity, lexical, date_match, base, speaker_match,
       greatest(
           CASE WHEN lag(position) OVER w = position - 1 THEN lag(base) OVER w END,
           CASE WHEN lead(position) OVER w = position + 1 THEN lead(base) OVER w END,
           0
       ) AS neighbour,
       coalesce(max(base) FILTER (WHERE speaker_match) OVER (PARTITION BY thread_id), 0)
           AS thread_context,
       role, name, context_text
FROM based
WINDOW w AS (PARTITION BY thread_id ORDER BY position)
"""


def _fact_sql(*, use_full_text_index: bool) -> str:
    where = "AND valid_to IS NULL"
    return f"""
WITH {_TERMS}, {_candidates("memory_fact", where, use_full_text_index=use_full_text_index)},
    scored AS (
        SELECT f.id, f.text, f.first_seen_at, f.source_message_ids, f.importance,
               f.mention_count,
               (%(speaker)s::text IS NULL
                OR lower(f.subject) = lower(%(speaker)s)
                OR lower(f.subject) LIKE lower(%(speaker)s) || '''s %%') AS speaker_match,
               {_base("f", "first_seen_at")}
        FROM direct JOIN memory_fact f ON f.id = direct.id
    )
SELECT id, text, NULL::uuid, first_seen_at, source_message_ids, importance, mention_count,
       similarity, lexical, date_match, {_BASE_SCORE}, speaker_match, 0.0, 0.0, NULL, NULL, NULL
FROM scored
"""


def _summary_sql(*, use_full_text_index: bool) -> str:
    return f"""
WITH {_TERMS}, {_candidates("memory_summary", "", use_full_text_index=use_full_text_index)},
    scored AS (
        SELECT s.id, s.text, s.thread_id, s.created_at, s.source_message_ids,
               {_base("s", "created_at")}
        FROM direct JOIN memory_summary s ON s.id = direct.id
    )
SELECT id, text, thread_id, created_at, source_message_ids, 0.0, 1,
       similarity, lexical, date_match, {_BASE_SCORE}, TRUE, 0.0, 0.0, NULL, NULL, NULL
FROM scored
"""


_BUILDERS: dict[MemoryType, Callable[..., str]] = {
    "message": _message_sql,
    "fact": _fact_sql,
    "summary": _summary_sql,
}
# Statements by (tier, whether lexical candidates come through the GIN index).
_SQL: dict[tuple[MemoryType, bool], str] = {
    (tier, indexed): build(use_full_text_index=indexed)
    for tier, build in _BUILDERS.items()
    for indexed in (True, False)
}
# Below this many messages an end user's rows are tested directly instead of through GIN.
FULL_TEXT_INDEX_FROM_MESSAGES = 20_000


def _row_to_memory(memory_type: MemoryType, row: Sequence[Any]) -> ScoredMemory:
    (
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
        },
    )


def _finish_scores(
    items: Sequence[ScoredMemory], *, weights: RankingWeights, thread: Thread | None, now: datetime
) -> None:
    thread_id = str(thread.pk) if thread is not None else None
    bias = {"fact": weights.fact_bias, "summary": weights.summary_bias, "message": 0.0}
    for item in items:
        c = item.components
        age_days = max(0.0, (now - item.created_at).total_seconds() / 86400.0)
        c["recency"] = 0.5 ** (age_days / weights.half_life_days)
        c["same_thread"] = 1.0 if thread_id and item.thread_id == thread_id else 0.0
        # Mentions saturate: the tenth mention counts as much as the hundredth.
        c["mention_boost"] = min(1.0, math.log1p(c["mentions"] - 1) / math.log1p(9))
        item.score = (
            c["base"]
            + weights.neighbour * c["neighbour"]
            + weights.thread_context * c["thread_context"]
            - weights.speaker * (1.0 - c["speaker_match"])
            + weights.recency * c["recency"]
            + weights.thread * c["same_thread"]
            + weights.importance * c["importance"]
            + weights.mentions * c["mention_boost"]
            + bias[item.type]
        )
        c["score"] = item.score


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
