"""Erasing an end user or one thread: everything stored about them goes, with a receipt.

Deleted means gone: the messages, facts (current and superseded), summaries, threads, term
statistics and outbox jobs are deleted with their embeddings and full-text vectors (columns
of the same rows), and the speaker-name cache is cleared. Usage records stay, for billing,
without their end user and thread. The receipt is an audit event holding only counts and its
own id, no personal data.

Races: the end user's row and threads are locked first, so a message being stored commits
before the erase or waits for it and then finds its thread gone. Work already in flight (a
chat storing its reply, an extraction job writing facts) can bring nothing back: every memory
row references the end user, and PostgreSQL refuses a reference to a deleted row when that
work commits. A new end user with the same external id is a new row, and starts empty.

An end user's own partial indexes (``memory.indexes``) hold no live rows once the rows are
deleted; the periodic index sync drops them.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Model

from memory.models import Fact, Message, OutboxJob, Summary, TermStat
from memory.services import speakers_forget, term_stats_subtract
from tenants.models import AuditEvent, EndUser, Thread, Vendor

# Deleted in this order, each in one statement by end user: rows that reference others first.
_MEMORY_TABLES: tuple[tuple[str, type[Model]], ...] = (
    ("summaries", Summary),
    ("facts", Fact),
    ("messages", Message),
    ("term_stats", TermStat),
    ("jobs", OutboxJob),
)


@dataclass(frozen=True)
class ErasureReceipt:
    id: UUID
    erased_at: datetime
    counts: dict[str, int]

    @classmethod
    def from_event(cls, event: AuditEvent) -> "ErasureReceipt":
        return cls(id=UUID(event.target), erased_at=event.created_at, counts=event.data["counts"])


def end_user_erase(*, end_user: EndUser, actor: str) -> ErasureReceipt:
    """Delete the end user and everything stored about them; the receipt says how much."""
    with transaction.atomic():
        list(EndUser.objects.select_for_update().filter(pk=end_user.pk).values_list("pk"))
        counts = end_user_rows_delete(end_user=end_user)
        return _receipt(end_user, AuditEvent.Action.END_USER_ERASED, actor, counts)


def end_user_rows_delete(*, end_user: EndUser) -> dict[str, int]:
    """The erase itself, inside the caller's transaction, which holds the end user's row
    locked (the pruning of idle end users uses it too, with its own record): returns the
    counts per kind."""
    thread_ids = list(
        Thread.objects.select_for_update().filter(end_user=end_user).values_list("pk")
    )
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for kind, model in _MEMORY_TABLES:
            # One statement per table: the ORM would first load every row's id to delete
            # the rows that reference it, and there are none left to find.
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE end_user_id = %s",  # noqa: S608
                [end_user.pk],
            )
            counts[kind] = cursor.rowcount
    counts["threads"] = len(thread_ids)
    speakers_forget(end_user=end_user)
    # The threads and the end user; usage records keep their counts, unlinked.
    end_user.delete()
    return counts


def thread_erase(*, thread: Thread, actor: str) -> ErasureReceipt:
    """Delete one thread: its messages, its summaries, the facts drawn only from it (the
    others forget its messages as sources), its jobs, and its share of the word statistics.
    Facts the vendor stated through the API, with no source message, stay."""
    end_user = thread.end_user
    with transaction.atomic():
        # Writers lock the thread to append to it: they finish first, or find it gone.
        list(Thread.objects.select_for_update().filter(pk=thread.pk).values_list("pk"))
        message_ids = list(Message.objects.filter(thread=thread).values_list("pk", flat=True))
        stems_gone = term_stats_subtract(end_user=end_user, message_ids=message_ids)
        with connection.cursor() as cursor:
            counts = {
                "term_stats": stems_gone,
                "summaries": _execute(
                    cursor, "DELETE FROM memory_summary WHERE thread_id = %s", [thread.pk]
                ),
                "facts": _facts_of_messages_erase(cursor, end_user.pk, message_ids),
                "jobs": _execute(
                    cursor,
                    "DELETE FROM memory_outboxjob WHERE end_user_id = %s AND"
                    " (payload->>'thread_id' = %s OR (payload->>'message_id')::bigint = ANY(%s))",
                    [end_user.pk, str(thread.pk), message_ids],
                ),
                "messages": _execute(
                    cursor, "DELETE FROM memory_message WHERE thread_id = %s", [thread.pk]
                ),
                "threads": 1,
            }
        speakers_forget(end_user=end_user)
        thread.delete()  # usage records keep their counts, without the thread
        return _receipt(end_user, AuditEvent.Action.THREAD_ERASED, actor, counts)


def _receipt(end_user: EndUser, action: str, actor: str, counts: dict[str, int]) -> ErasureReceipt:
    """The audit event an erasure leaves: its own id and the counts, nothing of the person."""
    event = AuditEvent.objects.create(
        vendor_id=end_user.vendor_id,
        action=action,
        actor=actor,
        target=str(uuid.uuid4()),
        data={"counts": counts},
    )
    return ErasureReceipt.from_event(event)


def _execute(cursor: Any, sql: str, params: list[Any]) -> int:
    cursor.execute(sql, params)
    return int(cursor.rowcount)


def _facts_of_messages_erase(cursor: Any, end_user_id: UUID, message_ids: list[int]) -> int:
    """Delete the facts every source of which is among ``message_ids``; the facts with other
    sources too lose these. Returns how many facts were deleted."""
    cursor.execute(
        "DELETE FROM memory_fact WHERE end_user_id = %s AND source_message_ids <> '{}'"
        " AND source_message_ids <@ %s::bigint[] RETURNING id",
        [end_user_id, message_ids],
    )
    deleted = [row[0] for row in cursor.fetchall()]
    # A remaining fact that a deleted one superseded no longer points at it (the database's
    # foreign key would refuse the commit otherwise).
    cursor.execute(
        "UPDATE memory_fact SET superseded_by_id = NULL WHERE superseded_by_id = ANY(%s)",
        [deleted],
    )
    cursor.execute(
        "UPDATE memory_fact SET source_message_ids = array("
        "SELECT id FROM unnest(source_message_ids) AS id WHERE id <> ALL(%s))"
        " WHERE end_user_id = %s AND source_message_ids && %s::bigint[]",
        [message_ids, end_user_id, message_ids],
    )
    return len(deleted)


_RECEIPT_ACTIONS = (AuditEvent.Action.END_USER_ERASED, AuditEvent.Action.THREAD_ERASED)


def erasure_get(*, vendor: Vendor, erasure_id: UUID) -> ErasureReceipt | None:
    """The vendor's erasure receipt (an end user's or a thread's) with this id; another
    vendor's is none."""
    event = AuditEvent.objects.filter(
        vendor=vendor, action__in=_RECEIPT_ACTIONS, target=str(erasure_id)
    ).first()
    return ErasureReceipt.from_event(event) if event is not None else None
