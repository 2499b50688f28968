"""Token-budgeted prompts: the few memories that matter instead of the whole history.

The prompt is laid out so that its start never changes between requests of a vendor
(the stable system prompt comes first, alone), which lets the inference server's prefix
cache hit; memories follow in a second system message, then the last turns of the
thread, then the new message. Each tier gets a share of the budget; what a tier leaves
unused flows to the next.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from memory.models import EXPLICIT_EXTRACTOR, Fact, Message, Role, TermStat
from memory.retrieval import ScoredMemory, memories_search
from memory.tokens import (
    APPROXIMATE_COUNTER,
    PromptTokenCounter,
    TokenCounter,
)
from tenants.models import EndUser, Thread

# Every chat message costs a few tokens of framing (role markers) beyond its content.
MESSAGE_OVERHEAD_TOKENS = 4


@dataclass
class ContextResult:
    messages: list[dict[str, str]]
    token_count: int
    budget: int
    baseline_tokens: int
    included: dict[str, list[int]]
    trimmed: dict[str, int]
    token_counter: str
    memories: list[ScoredMemory] = field(default_factory=list)
    # True when the end user's whole history fit the budget and was sent as is.
    whole_history: bool = False

    @property
    def saved_tokens(self) -> int:
        return max(0, self.baseline_tokens - self.token_count)


def model_context_limit(model: str | None) -> int:
    limits: dict[str, int] = settings.MEMORY_MODEL_CONTEXT_LIMITS
    if model and model in limits:
        return limits[model]
    return limits["default"]


def context_budget(*, model: str | None, max_completion_tokens: int) -> int:
    """The prompt budget: the configured one, shrunk to fit the model's window."""
    room = model_context_limit(model) - max_completion_tokens
    return max(256, min(settings.MEMORY_CONTEXT_BUDGET, room))


def _cost(text: str, count: TokenCounter) -> int:
    return count(text) + MESSAGE_OVERHEAD_TOKENS


def _truncate_middle(text: str, max_tokens: int, count: TokenCounter) -> str:
    """Shorten text to about ``max_tokens`` keeping its start and end."""
    if count(text) <= max_tokens:
        return text
    words = text.split()
    keep = max(2, max_tokens // 2)
    while keep > 1 and count(" ".join([*words[:keep], "…", *words[-keep:]])) > max_tokens:
        keep = int(keep * 0.8)
    return " ".join([*words[:keep], "…", *words[-keep:]])


MEMORY_HEADER = "What you remember about this user (use it when relevant):"
_TIER_OF = {"fact": "facts", "summary": "summaries", "message": "messages"}


def context_build(
    *,
    end_user: EndUser,
    thread: Thread,
    new_message: str,
    system_prompt: str | None = None,
    model: str | None = None,
    max_completion_tokens: int = 256,
    budget: int | None = None,
    exclude_message_ids: Sequence[int] = (),
    query_vector: np.ndarray | None = None,
    totals: tuple[int, int] | None = None,
    thread_is_new: bool = False,
    counter: PromptTokenCounter = APPROXIMATE_COUNTER,
) -> ContextResult:
    """Build the prompt for ``new_message`` in ``thread`` within the token budget.

    ``totals``: the end user's ``history_totals``, when the caller has read them already.
    ``thread_is_new``: the thread was created for this message, so it has no earlier turns.
    ``counter``: how the prompt's tokens are counted (the model's own tokenizer, for chat).
    """
    count = counter.count
    system_prompt = system_prompt if system_prompt is not None else settings.MEMORY_SYSTEM_PROMPT
    budget = budget or context_budget(model=model, max_completion_tokens=max_completion_tokens)
    shares: dict[str, float] = settings.MEMORY_CONTEXT_SHARES
    trimmed = {"facts": 0, "summaries": 0, "messages": 0, "recent": 0, "new_message": 0}

    fixed = _cost(system_prompt, count)
    new_message, trimmed["new_message"] = _fit_new_message(new_message, budget - fixed, count)
    new_cost = _cost(new_message, count)
    totals = totals if totals is not None else history_totals(end_user)
    baseline = baseline_tokens(
        end_user=end_user,
        system_prompt=system_prompt,
        new_message=new_message,
        exclude_message_ids=exclude_message_ids,
        totals=totals,
        counter=counter,
    )
    if baseline <= budget:
        # The whole history fits: send it as it is. Memory takes over once it no longer fits.
        whole = _whole_history_context(
            end_user=end_user,
            thread=thread,
            system_prompt=system_prompt,
            new_message=new_message,
            budget=budget,
            baseline=baseline,
            exclude_message_ids=exclude_message_ids,
            trimmed=trimmed,
            counter=counter,
        )
        if whole is not None:
            return whole
    available = budget - fixed - new_cost

    # The last turns of this thread come first in priority: they carry the conversation.
    recent = (
        []
        if thread_is_new
        else _recent_turns(thread, exclude_message_ids, settings.MEMORY_RECENT_TURNS)
    )
    recent_kept, trimmed["recent"] = _recent_within(
        recent, int(available * shares["recent"]), count
    )
    spent = sum(_cost(m.content, count) for m in recent_kept)

    memories = memories_search(
        end_user=end_user,
        query=new_message,
        k=settings.MEMORY_RETRIEVAL_K,
        thread=thread,
        query_vector=query_vector,
        history_messages=totals[0],
    )
    included: dict[str, list[int]] = {"facts": [], "summaries": [], "messages": []}
    sections = _memory_sections(
        memories,
        memory_budget=available - spent,
        excluded=set(exclude_message_ids) | {m.pk for m in recent_kept},
        included=included,
        trimmed=trimmed,
        count=count,
    )
    included["recent"] = [m.pk for m in recent_kept]

    messages = _prompt(
        system_prompt, _memory_block(MEMORY_HEADER, sections), recent_kept, new_message
    )
    used = {(item.type, item.id) for item in memories if item.id in included[_TIER_OF[item.type]]}
    return ContextResult(
        messages=messages,
        token_count=sum(_cost(m["content"], count) for m in messages),
        budget=budget,
        baseline_tokens=baseline,
        included=included,
        trimmed=trimmed,
        token_counter=counter.name,
        memories=[m for m in memories if (m.type, m.id) in used],
    )


def _prompt(
    system_prompt: str, memory_text: str, turns: list[Message], new_message: str
) -> list[dict[str, str]]:
    """The prompt's layout: the stable system prompt alone first (the server's prefix cache
    hits on it), the memories, the earlier turns, the new message."""
    messages: list[dict[str, str]] = [{"role": "system", "content": system_prompt}]
    if memory_text:
        messages.append({"role": "system", "content": memory_text})
    messages += [{"role": m.role, "content": m.content} for m in turns]
    messages.append({"role": Role.USER, "content": new_message})
    return messages


def _fit_new_message(new_message: str, room: int, count: TokenCounter) -> tuple[str, int]:
    """The new message, cut in the middle when it alone would not fit ``room``; and 1 when
    it was cut, 0 when not."""
    if _cost(new_message, count) <= room:
        return new_message, 0
    return _truncate_middle(new_message, room - MESSAGE_OVERHEAD_TOKENS - 8, count), 1


def _recent_within(
    recent: list[Message], recent_budget: int, count: TokenCounter
) -> tuple[list[Message], int]:
    """The latest of ``recent`` that fit the budget, oldest first, and how many were dropped."""
    kept: list[Message] = []
    spent = dropped = 0
    for message in reversed(recent):  # newest first, so the oldest are the ones dropped
        cost = _cost(message.content, count)
        if spent + cost > recent_budget:
            dropped += 1
            continue
        kept.insert(0, message)
        spent += cost
    return kept, dropped


def _memory_sections(
    memories: list[ScoredMemory],
    *,
    memory_budget: int,
    excluded: set[int],
    included: dict[str, list[int]],
    trimmed: dict[str, int],
    count: TokenCounter,
) -> dict[str, list[str]]:
    """The memory lines of each tier, best first, within the tiers' shares of the budget.

    What each tier takes goes into ``included`` (ids) and what it leaves out into ``trimmed``.
    """
    shares: dict[str, float] = settings.MEMORY_CONTEXT_SHARES
    sections: dict[str, list[str]] = {"facts": [], "summaries": [], "messages": []}
    memory_left = memory_budget - _cost(MEMORY_HEADER, count)
    tier_left = {tier: int(memory_budget * shares[tier]) for tier in sections}
    for item in memories:
        tier = _TIER_OF[item.type]
        if item.type == "message" and item.id in excluded:
            continue
        line = _memory_line(item)
        allowance = min(memory_left, tier_left[tier] + _spare(tier_left, tier))
        cost = count(line) + 1  # the line and its newline
        if cost > allowance:  # a memory is never cut mid-way: it fits or it is trimmed
            trimmed[tier] += 1
            continue
        sections[tier].append(line)
        included[tier].append(item.id)
        tier_left[tier] -= cost
        memory_left -= cost
    return sections


def _whole_history_context(
    *,
    end_user: EndUser,
    thread: Thread,
    system_prompt: str,
    new_message: str,
    budget: int,
    baseline: int,
    exclude_message_ids: Sequence[int],
    trimmed: dict[str, int],
    counter: PromptTokenCounter,
) -> ContextResult | None:
    """The end user's entire history, when it fits the budget; None when it does not.

    Exactly what the baseline counts: every stored message as a turn, oldest first, across
    threads. Extracted facts and summaries are left out (the history they came from is all
    there), except facts the vendor stated directly, which no message holds.
    """
    history = list(
        Message.objects.filter(end_user=end_user)
        .exclude(pk__in=list(exclude_message_ids))
        .exclude(role=Role.SYSTEM)
        .order_by("created_at", "id")
        .only("id", "thread_id", "role", "content", "created_at")
    )
    stated = list(
        Fact.objects.filter(end_user=end_user, valid_to__isnull=True, extractor=EXPLICIT_EXTRACTOR)
        .order_by("-importance", "id")
        .values_list("id", "text")
    )
    lines = [f"- {text}" for _id, text in stated]
    memory_text = "\n".join([MEMORY_HEADER, *lines]) if lines else ""
    messages = _prompt(system_prompt, memory_text, history, new_message)
    token_count = sum(_cost(m["content"], counter.count) for m in messages)
    if token_count > budget:
        return None
    return ContextResult(
        messages=messages,
        token_count=token_count,
        budget=budget,
        baseline_tokens=baseline,
        included={
            "facts": [fact_id for fact_id, _text in stated],
            "summaries": [],
            "messages": [m.pk for m in history if m.thread_id != thread.pk],
            "recent": [m.pk for m in history if m.thread_id == thread.pk],
        },
        trimmed=trimmed,
        token_counter=counter.name,
        whole_history=True,
    )


def _spare(tier_left: dict[str, int], tier: str) -> int:
    """Budget the other tiers have not claimed flows to this one once they are served."""
    return sum(max(0, left) for other, left in tier_left.items() if other != tier) // 2


def _memory_line(item: ScoredMemory) -> str:
    when = item.created_at.strftime("%d %b %Y")
    if item.type == "fact":
        return f"- {item.text}"
    if item.type == "summary":
        return f"- (summary) {item.text}"
    if item.context:
        return f"- ({when}) {item.context}"
    speaker = item.name or item.role or "user"
    return f"- ({when}) {speaker}: {item.text}"


def _memory_block(header: str, sections: dict[str, list[str]]) -> str:
    lines = [line for tier in ("facts", "summaries", "messages") for line in sections[tier]]
    return "\n".join([header, *lines]) if lines else ""


def _recent_turns(thread: Thread, exclude: Sequence[int], limit: int) -> list[Message]:
    rows = (
        Message.objects.filter(thread=thread)
        .exclude(pk__in=list(exclude))
        .exclude(role=Role.SYSTEM)
        .order_by("-created_at", "-id")
        .only("id", "role", "content", "created_at")[:limit]
    )
    return list(reversed(rows))


def history_totals(end_user: EndUser) -> tuple[int, int]:
    """The end user's stored messages and their tokens, from the running totals kept on
    insert (summing a long history on every request would not scale)."""
    with connection.cursor() as cursor:
        cursor.execute(_HISTORY_TOTALS_SQL, _history_totals_params(end_user))
        row = cursor.fetchone()
    return int(row[0]), int(row[1])


@contextmanager
def history_snapshot(end_user: EndUser) -> Iterator[tuple[int, int]]:
    """A repeatable-read transaction whose snapshot is taken on entry, and the end user's
    ``history_totals`` as of that moment.

    Everything read inside sees the history as it was on entry, whatever other connections
    commit meanwhile: chat builds the prompt in one while another thread stores the new
    message, and the prompt must not see it (it adds the new message itself). The totals
    are the snapshot's first query, so taking it costs no extra round trip. Must be entered
    outside any transaction (the isolation level is set as the transaction's first statement).
    """
    if connection.in_atomic_block:
        raise RuntimeError(
            "history_snapshot() opens a transaction of its own; call it outside one."
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(_HISTORY_TOTALS_SQL, _history_totals_params(end_user))
        messages, tokens = cursor.fetchone()
        yield int(messages), int(tokens)


# One row: (messages, tokens).
_HISTORY_TOTALS_SQL = """
SELECT coalesce(max(document_count) FILTER (WHERE lexeme = %(documents)s), 0),
       coalesce(max(document_count) FILTER (WHERE lexeme = %(tokens)s), 0)
FROM memory_termstat
WHERE end_user_id = %(end_user)s AND lexeme IN (%(documents)s, %(tokens)s)
"""


def _history_totals_params(end_user: EndUser) -> dict[str, UUID | str]:
    return {
        "end_user": end_user.pk,
        "documents": TermStat.DOCUMENTS_LEXEME,
        "tokens": TermStat.TOKENS_LEXEME,
    }


def baseline_tokens(
    *,
    end_user: EndUser,
    system_prompt: str,
    new_message: str,
    exclude_message_ids: Sequence[int] = (),
    totals: tuple[int, int] | None = None,
    counter: PromptTokenCounter,
) -> int:
    """What sending the end user's whole history would cost: the figure memory saves on.

    ``exclude_message_ids`` are stored messages that are the new message itself (chat
    stores the user's message before building its prompt), so it is not counted twice.
    The history is counted as stored (approximately); ``counter`` counts the rest.
    """
    documents, tokens = totals if totals is not None else history_totals(end_user)
    history = tokens + documents * MESSAGE_OVERHEAD_TOKENS
    if exclude_message_ids:
        stored = Message.objects.filter(end_user=end_user, pk__in=list(exclude_message_ids))
        history -= sum(
            count + MESSAGE_OVERHEAD_TOKENS
            for count in stored.values_list("token_count", flat=True)
        )
    return history + _cost(system_prompt, counter.count) + _cost(new_message, counter.count)
