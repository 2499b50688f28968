"""Exporting an end user: everything stored about them, as one JSON document, streamed.

The document is written as it is read, a chunk of rows at a time, so its size never sits in
memory: an end user with 100,000 messages exports in the memory of a few hundred rows. It is
read in one REPEATABLE READ transaction, so it is a consistent snapshot: a fact or summary
never names a message the document lacks because it arrived mid-export.

What is exported is what was stored: the end user, their threads, messages, facts (current
and superseded, with ``valid_from``, ``valid_to`` and ``superseded_by``), summaries and usage
records. Embeddings and full-text vectors are left out: they are derived from the exported
text, and a vector per row would make the document several times larger.

Usage records are billing's, so this lives in billing, the lowest layer that may read both.
"""

import json
import uuid
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import QuerySet

from billing.models import UsageRecord
from memory.models import Fact, Message, Summary
from tenants.models import AuditEvent, EndUser, Thread

# Rows fetched per round trip: enough to amortize it (100,000 messages are 500 round trips),
# few enough that a chunk stays small beside a large export even when its messages are long
# (20 MB at worst, at the 100 kB a message may hold; about 200 kB for chat-sized turns).
CHUNK_ROWS = 200
# Text is handed to the response in pieces of about this size: each piece is one write
# (and, under ASGI, one hop to the request's thread), so a piece per row would be slow.
PIECE_CHARS = 64 * 1024

_THREAD_FIELDS = ("id", "external_id", "title", "created_at")
_MESSAGE_FIELDS = (
    "id",
    "thread",
    "role",
    "name",
    "content",
    "position",
    "external_id",
    "created_at",
    "token_count",
)
_FACT_FIELDS = (
    "id",
    "subject",
    "attribute",
    "value",
    "text",
    "category",
    "negated",
    "multi_valued",
    "importance",
    "confidence",
    "mention_count",
    "first_seen_at",
    "last_seen_at",
    "valid_from",
    "valid_to",
    "superseded_by",
    "source_message_ids",
    "sources_pruned_at",
    "extractor",
    "created_at",
    "updated_at",
)
_SUMMARY_FIELDS = (
    "id",
    "thread",
    "first_message_id",
    "last_message_id",
    "message_count",
    "source_message_ids",
    "text",
    "summarizer",
    "created_at",
)
_USAGE_FIELDS = (
    "id",
    "thread",
    "surface",
    "status",
    "backend",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "baseline_tokens",
    "memory_items",
    "retrieval_ms",
    "first_token_ms",
    "total_ms",
    "user_message_id",
    "assistant_message_id",
    "error",
    "created_at",
)


# Threads are named by the vendor's id for them, as everywhere in the API.
_THREAD_COLUMN = "thread__external_id"


@dataclass(frozen=True)
class EndUserExport:
    id: UUID
    exported_at: datetime
    counts: dict[str, int]
    end_user: EndUser


def _sections(end_user: EndUser) -> dict[str, "QuerySet[Any, dict[str, Any]]"]:
    """The document's lists, in the order they are written, oldest first."""
    return {
        "threads": Thread.objects.filter(end_user=end_user)
        .order_by("created_at", "id")
        .values(*_THREAD_FIELDS),
        "messages": Message.objects.filter(end_user=end_user)
        .order_by("created_at", "id")
        .values(*_columns(_MESSAGE_FIELDS)),
        "facts": Fact.objects.filter(end_user=end_user).order_by("id").values(*_FACT_FIELDS),
        "summaries": Summary.objects.filter(end_user=end_user)
        .order_by("id")
        .values(*_columns(_SUMMARY_FIELDS)),
        "usage": UsageRecord.objects.filter(end_user=end_user)
        .order_by("created_at", "id")
        .values(*_columns(_USAGE_FIELDS)),
    }


def _columns(fields: tuple[str, ...]) -> list[str]:
    return [_THREAD_COLUMN if field == "thread" else field for field in fields]


def _shaped(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the document shows it: threads by their external id, and facts saying
    whether they are current, as the API's facts do."""
    if _THREAD_COLUMN in row:
        row["thread"] = row.pop(_THREAD_COLUMN)
    if "valid_to" in row:
        row["current"] = row["valid_to"] is None
    return row


def _dumps(value: object) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def end_user_export(*, end_user: EndUser, actor: str) -> EndUserExport:
    """Start an export of the end user: record it in the audit trail, before any data leaves.

    The audit event holds the export's id and the number of rows of each kind when it began,
    never personal data (not even the external id). ``end_user_export_chunks`` writes the
    document.
    """
    export_id = uuid.uuid4()
    counts = {kind: rows.count() for kind, rows in _sections(end_user).items()}
    event = AuditEvent.objects.create(
        vendor_id=end_user.vendor_id,
        action=AuditEvent.Action.END_USER_EXPORTED,
        actor=actor,
        target=str(export_id),
        data={"counts": counts},
    )
    return EndUserExport(
        id=export_id, exported_at=event.created_at, counts=counts, end_user=end_user
    )


def end_user_export_chunks(export: EndUserExport) -> Generator[str, None, None]:
    """The export's JSON document, in pieces of about ``PIECE_CHARS`` characters.

    Memory stays that of one chunk of rows and one piece of text, however many rows there are.
    Closing the iterator early (a client gone mid-stream) ends the read transaction.
    """
    with closing(_fragments(export)) as fragments:
        piece: list[str] = []
        size = 0
        for fragment in fragments:
            piece.append(fragment)
            size += len(fragment)
            if size >= PIECE_CHARS:
                yield "".join(piece)
                piece.clear()
                size = 0
        yield "".join(piece)


def _fragments(export: EndUserExport) -> Generator[str, None, None]:
    """The document as many small strings: a row each, and the punctuation between them."""
    end_user = export.end_user
    # Outside a transaction the rows are read in one snapshot of their own; inside one (a
    # caller's), in the caller's, which a SET TRANSACTION could no longer change.
    snapshot = not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        header = {
            "id": export.id,
            "exported_at": export.exported_at,
            "end_user": {
                "id": end_user.pk,
                "external_id": end_user.external_id,
                "metadata": end_user.metadata,
                "created_at": end_user.created_at,
            },
        }
        yield _dumps(header)[:-1]  # the object stays open for the lists that follow
        for name, rows in _sections(end_user).items():
            yield f",{_dumps(name)}:["
            for index, row in enumerate(rows.iterator(chunk_size=CHUNK_ROWS)):
                yield ("," if index else "") + _dumps(_shaped(row))
            yield "]"
    yield "}"
