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

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import lru_cache
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

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"Ranking weight {item.name} must be a number, got {value!r}.")
            # Tiny weights are refused too: their products underflow, an error in PostgreSQL.
            if not math.isfinite(value) or 0 < abs(value) < 1e-6:
                raise ValueError(
                    f"Ranking weight {item.name} must be 0 or a finite number of at least "
                    f"1e-6 in size, got {value!r}."
                )
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be above 0.")
        for name in ("candidates", "common_term_documents"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number, at least 1.")
        if not 0 <= self.duplicate_ratio <= 100:
            raise ValueError("duplicate_ratio must be within 0 and 100.")

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
    sql_types = _tier_order(types)
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


def _tier_order(types: Sequence[MemoryType]) -> tuple[MemoryType, ...]:
    unknown = set(types) - set(ALL_TYPES)
    if unknown:
        raise ValueError(f"Unknown memory types: {', '.join(sorted(unknown))}")
    if not types:
        raise ValueError("At least one memory type is needed.")
    return tuple(tier for tier in ALL_TYPES if tier in types)


def search_sql(types: Sequence[MemoryType], *, history_messages: int) -> str:
    """The statement that gathers and scores the candidates of each tier in ``types``: the
    ``keep`` best of each, each row led by its tier's name (parameters: search_params)."""
    use_index = history_messages >= FULL_TEXT_INDEX_FROM_MESSAGES
    return _search_sql(_tier_order(types), use_index)


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
    return _query_params(end_user, plan, vector, weights) | {
        "thread": thread.pk if thread is not None else None,
        "now": now or timezone.now(),
        "keep": keep,
    }


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
        "w_neighbour": weights.neighbour,
        "w_thread_context": weights.thread_context,
        "w_speaker": weights.speaker,
        "w_recency": weights.recency,
        "w_thread": weights.thread,
        "w_importance": weights.importance,
        "w_mentions": weights.mentions,
        "bias_fact": weights.fact_bias,
        "bias_summary": weights.summary_bias,
        "bias_message": 0.0,
        "half_life_days": weights.half_life_days,
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


def _candidates(tier: str, table: str, where: str, *, use_full_text_index: bool) -> str:
    # The GIN index spans every end user: for a short history, a common word would match
    # rows across the whole table before the end-user filter applies. There, testing the
    # user's own rows one by one is far cheaper, and "IS TRUE" keeps the planner off GIN.
    match = (
        "row.search_vector @@ any_term.q"
        if use_full_text_index
        else "(row.search_vector @@ any_term.q) IS TRUE"
    )
    return f"""
    {tier}_dense AS (
        SELECT id FROM {table}
        WHERE end_user_id = %(end_user)s {where}
        ORDER BY embedding <=> %(vector)s::vector
        LIMIT %(limit)s
    ),
    {tier}_lexical AS (
        SELECT row.id FROM {table} row, any_term
        WHERE row.end_user_id = %(end_user)s {where}
          AND any_term.q IS NOT NULL AND {match}
        ORDER BY (SELECT sum(idf) FROM weighted WHERE row.search_vector @@ weighted.tq) DESC,
                 row.id
        LIMIT %(limit)s
    ),
    {tier}_direct AS (SELECT id FROM {tier}_dense UNION SELECT id FROM {tier}_lexical)"""


def _base(alias: str, time_column: str) -> str:
    return f"""
        1 - ({alias}.embedding <=> %(vector)s::vector) AS similarity,
        coalesce((SELECT sum(idf) FROM weighted WHERE {alias}.search_vector @@ weighted.tq), 0)
            / (SELECT idf FROM total) AS lexical,
        {_date_match(f"{alias}.{time_column}")} AS date_match"""


_BASE_SCORE = "%(w_similarity)s * similarity + %(w_lexical)s * lexical + %(w_date)s * date_match"


@dataclass(frozen=True)
class _TierSql:
    ctes: str  # the tier's common table expressions, after the shared _TERMS ones
    select: str  # its candidates with their score components, as _TIER_COLUMNS


def _message_sql(*, use_full_text_index: bool) -> _TierSql:
    candidates = _candidates(
        "message", "memory_message", "", use_full_text_index=use_full_text_index
    )
    ctes = f"""{candidates},
    -- the turns right before and after each direct candidate
    message_widened AS (
        SELECT DISTINCT around.id
        FROM message_direct direct
        JOIN memory_message hit ON hit.id = direct.id
        JOIN memory_message around
          ON around.thread_id = hit.thread_id
         AND around.position BETWEEN hit.position - 1 AND hit.position + 1
    ),
    message_scored AS (
        SELECT m.id, m.thread_id, m.position, m.content, m.role, m.name, m.created_at,
               m.context_text,
               (%(speaker)s::text IS NULL OR m.name = %(speaker)s) AS speaker_match,
               {_base("m", "created_at")}
        FROM message_widened widened JOIN memory_message m ON m.id = widened.id
    ),
    -- Materialized: the window functions below read base several times per row, and an
    -- inlined CTE would compute it (full-text subplan included) once per reference.
    message_based AS MATERIALIZED (SELECT *, {_BASE_SCORE} AS base FROM message_scored)"""
    select = """
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
FROM message_based
WINDOW w AS (PARTITION BY thread_id ORDER BY position)"""
    return _TierSql(ctes=ctes, select=select)


def _fact_sql(*, use_full_text_index: bool) -> _TierSql:
    candidates = _candidates(
        "fact", "memory_fact", "AND valid_to IS NULL", use_full_text_index=use_full_text_index
    )
    ctes = f"""{candidates},
    fact_scored AS (
        SELECT f.id, f.text, f.first_seen_at, f.source_message_ids,
               -- below a millionth counts as none: a denormal one (5e-324) would underflow
               -- when weighted, which PostgreSQL raises as an error
               CASE WHEN f.importance < 1e-6 THEN 0.0 ELSE f.importance END,
               f.mention_count,
               (%(speaker)s::text IS NULL
                OR lower(f.subject) = lower(%(speaker)s)
                OR lower(f.subject) LIKE lower(%(speaker)s) || '''s %%') AS speaker_match,
               {_base("f", "first_seen_at")}
        FROM fact_direct direct JOIN memory_fact f ON f.id = direct.id
    )"""
    select = f"""
SELECT id, text, NULL::uuid, first_seen_at, source_message_ids, importance, mention_count,
       similarity, lexical, date_match, {_BASE_SCORE}, speaker_match, 0.0, 0.0, NULL, NULL, NULL
FROM fact_scored"""
    return _TierSql(ctes=ctes, select=select)


def _summary_sql(*, use_full_text_index: bool) -> _TierSql:
    candidates = _candidates(
        "summary", "memory_summary", "", use_full_text_index=use_full_text_index
    )
    ctes = f"""{candidates},
    summary_scored AS (
        SELECT s.id, s.text, s.thread_id, s.created_at, s.source_message_ids,
               {_base("s", "created_at")}
        FROM summary_direct direct JOIN memory_summary s ON s.id = direct.id
    )"""
    select = f"""
SELECT id, text, thread_id, created_at, source_message_ids, 0.0, 1,
       similarity, lexical, date_match, {_BASE_SCORE}, TRUE, 0.0, 0.0, NULL, NULL, NULL
FROM summary_scored"""
    return _TierSql(ctes=ctes, select=select)


# The columns every tier's select yields, in order.
_TIER_COLUMNS = (
    "id, text, thread_id, created_at, sources, importance, mentions, similarity, lexical, "
    "date_match, base, speaker_match, neighbour, thread_context, role, name, context"
)


# Recency decays no further than this many half-lives (about 1e-301): 0.5 to a power past
# about 1,075 underflows float8, which PostgreSQL raises as an error rather than rounding to
# zero, and a message dated 1930 is 1,160 half-lives old at the default 30 days.
RECENCY_MAX_HALF_LIVES = 1000


def _ranked(tier: MemoryType, select: str) -> str:
    """The final score of each of a tier's candidates (the formula in the module docstring),
    and the ``keep`` best. Mentions saturate: the tenth counts as much as the hundredth.
    Recency is total over every timestamp: future ones count as now, ancient ones as zero."""
    return f"""(
SELECT '{tier}'::text AS tier, *, base
       + %(w_neighbour)s * neighbour
       + %(w_thread_context)s * thread_context
       - %(w_speaker)s * (1 - speaker_match::int)
       + %(w_recency)s * recency
       + %(w_thread)s * same_thread
       + %(w_importance)s * importance
       + %(w_mentions)s * mention_boost
       + %(bias_{tier})s AS score
FROM (
    SELECT tier.*,
           power(0.5, least(greatest(0, extract(epoch FROM %(now)s - tier.created_at)::float8)
                            / 86400.0 / %(half_life_days)s, {RECENCY_MAX_HALF_LIVES})) AS recency,
           coalesce(tier.thread_id = %(thread)s::uuid, false)::int AS same_thread,
           least(1.0, ln(greatest(tier.mentions, 1)) / ln(10)) AS mention_boost
    FROM ({select}) AS tier({_TIER_COLUMNS})
) AS components
ORDER BY score DESC, id
LIMIT %(keep)s
)"""


_BUILDERS: dict[MemoryType, Callable[..., _TierSql]] = {
    "message": _message_sql,
    "fact": _fact_sql,
    "summary": _summary_sql,
}


@lru_cache(maxsize=32)
def _search_sql(types: tuple[MemoryType, ...], use_full_text_index: bool) -> str:
    """One statement for all the asked tiers: one round trip and one plan, and the query
    terms' statistics looked up once for all of them."""
    tiers = {tier: _BUILDERS[tier](use_full_text_index=use_full_text_index) for tier in types}
    ctes = ",".join(tier_sql.ctes for tier_sql in tiers.values())
    selects = "\nUNION ALL\n".join(_ranked(tier, sql.select) for tier, sql in tiers.items())
    return f"WITH {_TERMS}, {ctes}\n{selects}"


# Below this many messages an end user's rows are tested directly instead of through GIN.
FULL_TEXT_INDEX_FROM_MESSAGES = 20_000


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
