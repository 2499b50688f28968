"""The search statement: SQL text that gathers and scores each tier's candidates, and the
parameters it binds. Text only; memory.retrieval runs it. The scoring formula is in
memory.retrieval's docstring."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from infyn.lib.errors import DomainError
from memory.models import TermStat
from memory.query import QueryPlan
from memory.ranking import RankingWeights
from tenants.models import EndUser

MemoryType = Literal["fact", "summary", "message"]


class MemoryTypesError(DomainError):
    """A search asked for no memory type, or for one that does not exist."""


ALL_TYPES: tuple[MemoryType, ...] = ("fact", "summary", "message")


def tier_order(types: Sequence[MemoryType]) -> tuple[MemoryType, ...]:
    unknown = set(types) - set(ALL_TYPES)
    if unknown:
        raise MemoryTypesError(f"Unknown memory types: {', '.join(sorted(unknown))}")
    if not types:
        raise MemoryTypesError("At least one memory type is needed.")
    return tuple(tier for tier in ALL_TYPES if tier in types)


def search_sql(types: Sequence[MemoryType], *, history_messages: int) -> str:
    """The statement that gathers and scores the candidates of each tier in ``types``: the
    ``keep`` best of each, each row led by its tier's name (parameters: search_params)."""
    use_index = history_messages >= FULL_TEXT_INDEX_FROM_MESSAGES
    return _search_sql(tier_order(types), use_index)


def query_params(
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
