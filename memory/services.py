"""Writes to memory: messages, facts and summaries. Each new message's background work is
recorded in the outbox (memory.outbox), in the message's transaction."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from memory import consolidation, extraction
from memory.embeddings import embed_texts
from memory.models import EXPLICIT_EXTRACTOR, Fact, Message, Summary, TermStat
from memory.outbox import outbox_jobs_for_messages
from memory.selectors import speakers_cache_key
from memory.summaries import summarize
from memory.tokens import count_tokens
from tenants.models import AuditEvent, EndUser, Thread
from tenants.services import end_user_touch, thread_get_or_create

CONTEXT_REPLY_CHARS = 300


def message_embedding_text(*, name: str, content: str) -> str:
    """What a message is embedded as: the speaker's name makes "what did Anna say" findable."""
    return f"{name}: {content}" if name else content


def message_context_text(
    *, name: str, content: str, previous: "Message | MessageInput | None"
) -> str:
    """What a message is full-text indexed (and shown) as: with the turn it replies to,
    which gives short answers ("Yes, twice!") the meaning they have in the conversation.

    Only the full-text index gets the reply: embedding it too gained no recall@10 on
    LoCoMo and took twice the embedding time (docs/benchmarks.md).
    """
    text = message_embedding_text(name=name, content=content)
    if previous is not None:
        before = previous.content[:CONTEXT_REPLY_CHARS]
        speaker = previous.name or previous.role
        text += f" (replying to {speaker}: {before})"
    return text


# --- messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageInput:
    thread_external_id: str
    role: str
    content: str
    name: str = ""
    external_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ImportResult:
    created: int
    skipped: int
    message_ids: list[int]
    thread_ids: dict[str, str]


def messages_import(*, end_user: EndUser, messages: Sequence[MessageInput]) -> ImportResult:
    """Store ordered messages with their embeddings; background work follows the commit.

    Idempotent: a message whose external id already exists in its thread is skipped, so
    an interrupted import can simply be sent again. Within a thread, messages keep the
    order they are given in.
    """
    threads: dict[str, Thread] = {}
    for item in messages:
        if item.thread_external_id not in threads:
            threads[item.thread_external_id] = thread_get_or_create(
                end_user=end_user, external_id=item.thread_external_id
            )[0]
    existing = set(
        Message.objects.filter(
            thread__in=threads.values(),
            external_id__in=[m.external_id for m in messages if m.external_id],
        ).values_list("thread_id", "external_id")
    )
    fresh: list[tuple[Thread, MessageInput]] = []
    seen_in_batch: set[tuple[object, str]] = set()
    for item in messages:
        thread = threads[item.thread_external_id]
        if item.external_id:
            key = (thread.id, item.external_id)
            if key in existing or key in seen_in_batch:
                continue
            seen_in_batch.add(key)
        fresh.append((thread, item))
    created = _messages_insert(end_user=end_user, rows=fresh)
    return ImportResult(
        created=len(created),
        skipped=len(messages) - len(created),
        message_ids=[m.pk for m in created],
        thread_ids={external_id: str(thread.id) for external_id, thread in threads.items()},
    )


def message_create(
    *,
    thread: Thread,
    role: str,
    content: str,
    name: str = "",
    external_id: str | None = None,
    created_at: datetime | None = None,
    embedding: np.ndarray | None = None,
) -> Message:
    """Store one message at once (the chat path), then schedule its background work.

    ``embedding``: the vector of ``message_embedding_text(name, content)`` when the caller
    has computed it already (chat embeds the message once, for search and storage).
    """
    item = MessageInput(
        thread_external_id=thread.external_id,
        role=role,
        content=content,
        name=name,
        external_id=external_id,
        created_at=created_at,
    )
    vectors = None if embedding is None else np.asarray([embedding], dtype=np.float32)
    return _messages_insert(end_user=thread.end_user, rows=[(thread, item)], vectors=vectors)[0]


def _messages_insert(
    *,
    end_user: EndUser,
    rows: Sequence[tuple[Thread, MessageInput]],
    vectors: np.ndarray | None = None,
) -> list[Message]:
    if not rows:
        return []
    embedded = [message_embedding_text(name=item.name, content=item.content) for _, item in rows]
    if vectors is None:
        vectors = embed_texts(embedded)  # slow: before the transaction, not inside it
    now = timezone.now()
    end_user_touch(end_user=end_user, at=max(item.created_at or now for _, item in rows))
    with transaction.atomic():
        last = _lock_threads_for_append({thread.id for thread, _ in rows})
        next_position = {thread_id: m.position if m else 0 for thread_id, m in last.items()}
        # The turn each new message replies to: the one before it in the input, or the
        # thread's last stored message for the first (read under the lock, so a message
        # stored meanwhile by another writer is the one replied to).
        previous: dict[UUID, Message | MessageInput | None] = dict(last)
        messages = []
        for (thread, item), vector in zip(rows, vectors, strict=True):
            next_position[thread.id] += 1
            context = message_context_text(
                name=item.name, content=item.content, previous=previous[thread.id]
            )
            previous[thread.id] = item
            messages.append(
                Message(
                    end_user=end_user,
                    thread=thread,
                    role=item.role,
                    name=item.name,
                    content=item.content,
                    context_text=context,
                    position=next_position[thread.id],
                    external_id=item.external_id,
                    created_at=item.created_at or now,
                    token_count=count_tokens(item.content),
                    embedding=vector,
                )
            )
        created = Message.objects.bulk_create(messages, batch_size=500)
        term_stats_add(end_user=end_user, message_ids=[m.pk for m in created])
        outbox_jobs_for_messages(end_user=end_user, created=created)
    if any(item.name for _, item in rows):
        speakers_forget(end_user=end_user)
    return created


def _lock_threads_for_append(thread_ids: set[UUID]) -> dict[UUID, Message | None]:
    """Lock the threads (in a fixed order, so writers never deadlock) and return each one's
    last stored message, or None for an empty thread.

    Two statements, not one: in READ COMMITTED a statement reads from the snapshot it started
    with, so a last-message read joined to the lock would miss a message that the writer it
    waited for has just committed, and both would take the same position."""
    list(Thread.objects.select_for_update().filter(pk__in=thread_ids).order_by("pk").values("pk"))
    last_messages = (
        Message.objects.filter(thread_id__in=thread_ids)
        .order_by("thread_id", "-position")
        .distinct("thread_id")
        .only("thread_id", "position", "role", "name", "content")
    )
    last: dict[UUID, Message | None] = dict.fromkeys(thread_ids)
    last.update((message.thread_id, message) for message in last_messages)
    return last


def term_stats_add(*, end_user: EndUser, message_ids: Sequence[int]) -> None:
    """Count the new messages' word stems into the end user's document frequencies."""
    if not message_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO memory_termstat (end_user_id, lexeme, document_count)
            SELECT %(end_user)s, lexeme, count(*)
            FROM memory_message m, unnest(tsvector_to_array(m.search_vector)) AS lexeme
            WHERE m.id = ANY(%(ids)s) AND length(lexeme) <= 200
            GROUP BY lexeme
            UNION ALL
            SELECT %(end_user)s, %(documents)s, cardinality(%(ids)s::bigint[])
            UNION ALL
            SELECT %(end_user)s, %(tokens)s, coalesce(sum(token_count), 0)
            FROM memory_message WHERE id = ANY(%(ids)s)
            ORDER BY 2
            ON CONFLICT (end_user_id, lexeme)
            DO UPDATE SET document_count = memory_termstat.document_count
                                           + EXCLUDED.document_count
            """,
            {
                "end_user": end_user.pk,
                "ids": list(message_ids),
                "documents": TermStat.DOCUMENTS_LEXEME,
                "tokens": TermStat.TOKENS_LEXEME,
            },
        )


def term_stats_subtract(*, end_user: EndUser, message_ids: Sequence[int]) -> int:
    """Take messages about to be deleted out of the end user's document frequencies: the
    reverse of ``term_stats_add``, run while the messages still exist. A stem no message
    holds any more loses its row; returns how many rows went."""
    if not message_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH gone AS (
                SELECT lexeme, count(*) AS documents
                FROM memory_message m, unnest(tsvector_to_array(m.search_vector)) AS lexeme
                WHERE m.id = ANY(%(ids)s) AND m.end_user_id = %(end_user)s
                    AND length(lexeme) <= 200
                GROUP BY lexeme
                UNION ALL
                SELECT %(documents)s, count(*) FROM memory_message
                WHERE id = ANY(%(ids)s) AND end_user_id = %(end_user)s
                UNION ALL
                SELECT %(tokens)s, coalesce(sum(token_count), 0) FROM memory_message
                WHERE id = ANY(%(ids)s) AND end_user_id = %(end_user)s
            ),
            -- Locked in lexeme order, as term_stats_add writes them: a prune running beside
            -- a chat of the same end user waits for it instead of deadlocking with it.
            locked AS (
                SELECT t.id, gone.documents FROM memory_termstat t JOIN gone USING (lexeme)
                WHERE t.end_user_id = %(end_user)s
                ORDER BY t.lexeme
                FOR UPDATE OF t
            )
            UPDATE memory_termstat t
            SET document_count = greatest(0, t.document_count - locked.documents)
            FROM locked
            WHERE t.id = locked.id
            RETURNING t.id, t.lexeme, t.document_count
            """,
            {
                "end_user": end_user.pk,
                "ids": list(message_ids),
                "documents": TermStat.DOCUMENTS_LEXEME,
                "tokens": TermStat.TOKENS_LEXEME,
            },
        )
        totals = (TermStat.DOCUMENTS_LEXEME, TermStat.TOKENS_LEXEME)
        # Only rows this statement holds locked: a stem no message holds any more goes.
        unused = [row[0] for row in cursor.fetchall() if row[2] == 0 and row[1] not in totals]
        if not unused:
            return 0
        cursor.execute(
            "DELETE FROM memory_termstat WHERE id = ANY(%s) AND document_count = 0", [unused]
        )
        return int(cursor.rowcount)


def speakers_forget(*, end_user: EndUser) -> None:
    cache.delete(speakers_cache_key(end_user))


# --- facts ----------------------------------------------------------------------------------


def fact_upsert(
    *,
    end_user: EndUser,
    extracted: extraction.ExtractedFact,
    source: Message | None,
    extractor: str,
    embedding: np.ndarray | None = None,
) -> Fact:
    """Store a fact, merging it into the same fact or superseding the one it updates."""
    seen_at = source.created_at if source is not None else timezone.now()
    source_ids = [source.pk] if source is not None else []
    with transaction.atomic():
        current = list(
            Fact.objects.select_for_update()
            .filter(
                end_user=end_user,
                subject__iexact=extracted.subject,
                attribute=extracted.attribute,
                valid_to__isnull=True,
            )
            .order_by("-last_seen_at")
        )
        decision = consolidation.decide(
            extracted,
            [
                consolidation.ExistingFact(
                    id=fact.pk,
                    subject=fact.subject,
                    attribute=fact.attribute,
                    value=fact.value,
                    text=fact.text,
                    negated=fact.negated,
                    multi_valued=fact.multi_valued,
                )
                for fact in current
            ],
        )
        if decision.action == consolidation.Action.MERGE:
            fact = next(f for f in current if f.pk == decision.target_id)
            fact.mention_count += 1
            fact.last_seen_at = max(fact.last_seen_at, seen_at)
            fact.first_seen_at = min(fact.first_seen_at, seen_at)
            fact.source_message_ids = sorted({*fact.source_message_ids, *source_ids})
            fact.confidence = min(1.0, max(fact.confidence, extracted.confidence) + 0.05)
            update_fields = [
                "mention_count",
                "last_seen_at",
                "first_seen_at",
                "source_message_ids",
                "confidence",
                "updated_at",
            ]
            if decision.canonical_value and decision.canonical_value != fact.value:
                fact.value = decision.canonical_value
                update_fields.append("value")
            fact.save(update_fields=update_fields)
            return fact

        fact = Fact.objects.create(
            end_user=end_user,
            subject=extracted.subject,
            attribute=extracted.attribute,
            value=extracted.value,
            text=extracted.text,
            category=extracted.category.value,
            negated=extracted.negated,
            multi_valued=extracted.multi_valued,
            importance=extracted.importance,
            confidence=extracted.confidence,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
            valid_from=seen_at,
            source_message_ids=source_ids,
            extractor=extractor,
            embedding=embedding if embedding is not None else embed_texts([extracted.text])[0],
        )
        if decision.action == consolidation.Action.SUPERSEDE:
            assert decision.target_id is not None
            Fact.objects.filter(pk=decision.target_id).update(
                valid_to=seen_at, superseded_by=fact, updated_at=timezone.now()
            )
        return fact


# --- summaries ------------------------------------------------------------------------------


def summaries_update(*, thread: Thread) -> list[Summary]:
    """Summarise every full window of SUMMARY_WINDOW messages not yet summarised."""
    window: int = settings.MEMORY_SUMMARY_WINDOW
    # A summary is dated by its last message, and that message may be pruned since: the
    # boundary is read from the summary itself.
    last = Summary.objects.filter(thread=thread).order_by("-created_at", "-last_message_id").first()
    pending = Message.objects.filter(thread=thread).order_by("created_at", "id")
    if last is not None:
        # Messages are ordered by (created_at, id): resume right after the last summarised.
        pending = pending.filter(
            Q(created_at__gt=last.created_at)
            | Q(created_at=last.created_at, id__gt=last.last_message_id)
        )
    messages = list(pending.only("id", "name", "role", "content", "created_at", "embedding"))
    created: list[Summary] = []
    for start in range(0, len(messages) - window + 1, window):
        chunk = messages[start : start + window]
        summary_text, source_ids, summarizer = summarize(chunk)
        created.append(
            Summary.objects.create(
                end_user_id=thread.end_user_id,
                thread=thread,
                first_message=chunk[0],
                last_message=chunk[-1],
                message_count=len(chunk),
                source_message_ids=source_ids,
                text=summary_text,
                summarizer=summarizer,
                # A summary is dated by the conversation it covers, not by when it was made.
                created_at=chunk[-1].created_at,
                embedding=embed_texts([summary_text])[0],
            )
        )
    return created


# --- facts through the API ------------------------------------------------------------------


def fact_create_explicit(
    *,
    end_user: EndUser,
    text: str,
    category: str,
    importance: float,
    subject: str | None = None,
    attribute: str | None = None,
    value: str | None = None,
) -> Fact:
    """A fact the vendor states directly. It consolidates like any extracted fact."""
    statement = extraction.ExtractedFact(
        subject=subject or "user",
        attribute=attribute or "note",
        value=value or text,
        text=text,
        category=extraction.FactCategory(category),
        importance=importance,
        confidence=1.0,
        multi_valued=attribute is None,
    )
    return fact_upsert(
        end_user=end_user, extracted=statement, source=None, extractor=EXPLICIT_EXTRACTOR
    )


def fact_update(*, fact: Fact, changes: dict[str, object], actor: str) -> Fact:
    """Change a fact as the vendor asked; the audit trail records which fields changed (their
    names only: the values are the end user's)."""
    for name, value in changes.items():
        setattr(fact, name, value)
    update_fields = [*changes, "updated_at"]
    if "text" in changes:
        fact.embedding = embed_texts([fact.text])[0]
        update_fields.append("embedding")
    with transaction.atomic():
        fact.save(update_fields=update_fields)
        _fact_audit(fact, AuditEvent.Action.FACT_UPDATED, actor, {"fields": sorted(changes)})
    return fact


def fact_delete(*, fact: Fact, actor: str) -> None:
    with transaction.atomic():
        _fact_audit(fact, AuditEvent.Action.FACT_DELETED, actor, {})
        fact.delete()


def _fact_audit(fact: Fact, action: str, actor: str, data: dict[str, object]) -> None:
    AuditEvent.objects.create(
        vendor_id=fact.end_user.vendor_id,
        action=action,
        actor=actor,
        target=f"fact:{fact.pk}",
        data=data,
    )
