"""Erasing an end user: everything stored about them goes, in one transaction, with a receipt.

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
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Model

from memory.models import Fact, Message, OutboxJob, Summary, TermStat
from memory.services import speakers_forget
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
    erasure_id = uuid.uuid4()
    with transaction.atomic():
        list(EndUser.objects.select_for_update().filter(pk=end_user.pk).values_list("pk"))
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
        event = AuditEvent.objects.create(
            vendor_id=end_user.vendor_id,
            action=AuditEvent.Action.END_USER_ERASED,
            actor=actor,
            target=str(erasure_id),
            data={"counts": counts},
        )
    return ErasureReceipt.from_event(event)


def erasure_get(*, vendor: Vendor, erasure_id: UUID) -> ErasureReceipt | None:
    """The vendor's erasure receipt with this id; another vendor's is none."""
    event = AuditEvent.objects.filter(
        vendor=vendor, action=AuditEvent.Action.END_USER_ERASED, target=str(erasure_id)
    ).first()
    return ErasureReceipt.from_event(event) if event is not None else None
