"""Indexes of their own for end users with long histories.

The HNSW and full-text indexes on the memory tables span every end user. For an end user
who holds a large share of a table they do needless work: a filtered HNSW scan wades through
other users' neighbours before it has enough of this user's rows, and a full-text match is
intersected with a bitmap of every one of the user's rows (100,000 entries for a user with
100,000 messages) to drop other users' matches. A partial index (``WHERE end_user_id = '…'``)
holds only that user's rows, so neither happens. The planner picks it by itself for that
user's statements: the end user id is a literal in them (Django binds parameters on the
client side), so the index predicate is provable.

Each such index costs every insert into the table a predicate check, and the planner a
look at it, so only end users past a size threshold get them. pgvector's documentation
recommends partial indexes for filtering on a few values; past a few hundred such end users,
partitioning the tables by end user would be the next step (docs/architecture.md).
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.db import connection

from memory.models import TermStat

logger = logging.getLogger(__name__)

# (index method, table, short name, what it indexes): the shared indexes of memory.models,
# one of each per end user. Same HNSW parameters as the shared indexes (memory.models._hnsw).
_OWN_INDEXES: tuple[tuple[str, str, str, str], ...] = (
    ("hnsw", "memory_message", "message", "embedding vector_cosine_ops"),
    ("gin", "memory_message", "message", "search_vector"),
    ("hnsw", "memory_fact", "fact", "embedding vector_cosine_ops"),
    ("gin", "memory_fact", "fact", "search_vector"),
    ("hnsw", "memory_summary", "summary", "embedding vector_cosine_ops"),
    ("gin", "memory_summary", "summary", "search_vector"),
)
_HNSW_OPTIONS = "WITH (m = 16, ef_construction = 64)"
NAME_PREFIX = "own_"
# Two syncs at once would build the same indexes twice: the second finds the lock taken
# and does nothing.
_SYNC_LOCK_KEY = 0x696E66796E01


@dataclass(frozen=True)
class OwnIndex:
    name: str
    end_user_id: UUID
    definition: str


@dataclass
class OwnIndexSyncReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    end_users: int = 0
    skipped_locked: bool = False


def own_indexes_for(end_user_id: UUID) -> list[OwnIndex]:
    """The partial indexes an end user past the threshold gets, named after its id."""
    indexes = []
    for method, table, short, indexed in _OWN_INDEXES:
        name = f"{NAME_PREFIX}{method}_{short}_{end_user_id.hex}"
        options = _HNSW_OPTIONS if method == "hnsw" else ""
        # The id is a UUID object, so formatting it into the statement is safe.
        definition = (
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            f"USING {method} ({indexed}) {options} WHERE end_user_id = '{end_user_id}'"
        )
        indexes.append(OwnIndex(name=name, end_user_id=end_user_id, definition=definition))
    return indexes


def end_users_over(messages: int) -> set[UUID]:
    """End users with at least ``messages`` messages, from the running totals."""
    return set(
        TermStat.objects.filter(
            lexeme=TermStat.DOCUMENTS_LEXEME, document_count__gte=messages
        ).values_list("end_user_id", flat=True)
    )


def own_indexes_existing() -> dict[str, bool]:
    """Every own index in the database, by name, with whether it is valid (an interrupted
    concurrent build leaves an invalid one behind, which is dropped and built again)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname LIKE %s",
            [NAME_PREFIX.replace("_", r"\_") + "%"],
        )
        return dict(cursor.fetchall())


def _end_user_of(index_name: str) -> UUID | None:
    try:
        return UUID(hex=index_name.rsplit("_", 1)[-1])
    except ValueError:
        return None


@dataclass(frozen=True)
class OwnIndexPlan:
    to_create: list[OwnIndex]
    to_drop: list[str]
    end_users: int


def own_indexes_plan(*, from_messages: int) -> OwnIndexPlan:
    """What a sync would do: build the missing (or invalid) indexes of end users with at
    least ``from_messages`` messages, and drop those of end users that are gone or have
    fallen under half of it (the margin keeps a user near the line from flapping)."""
    existing = own_indexes_existing()
    wanted_users = end_users_over(from_messages)
    kept_users = end_users_over(max(1, from_messages // 2))
    to_create = [
        index
        for end_user_id in sorted(wanted_users)
        for index in own_indexes_for(end_user_id)
        if not existing.get(index.name, False)
    ]
    to_drop = sorted(
        name
        for name, valid in existing.items()
        if not valid or _end_user_of(name) not in kept_users
    )
    return OwnIndexPlan(to_create=to_create, to_drop=to_drop, end_users=len(wanted_users))


def own_indexes_sync(
    *,
    from_messages: int | None = None,
    on_step: Callable[[str, int], None] | None = None,
) -> OwnIndexSyncReport:
    """Bring the own indexes in line with end users' sizes; safe to run at any time.

    Builds run ``CONCURRENTLY``: writes to the tables go on meanwhile. Must run outside a
    transaction (autocommit), which is how management commands and Celery tasks run.
    ``on_step(what, steps)`` is called before each build or drop, with the number of steps.
    """
    threshold = settings.MEMORY_OWN_INDEX_FROM_MESSAGES if from_messages is None else from_messages
    report = OwnIndexSyncReport()
    with _sync_lock() as acquired:
        if not acquired:
            report.skipped_locked = True
            return report
        plan = own_indexes_plan(from_messages=threshold)
        report.end_users = plan.end_users
        steps = len(plan.to_drop) + len(plan.to_create)
        with connection.cursor() as cursor:
            cursor.execute(
                "SET maintenance_work_mem = %s",
                [settings.MEMORY_OWN_INDEX_MAINTENANCE_WORK_MEM],
            )
            try:
                # Invalid leftovers go first: their names are needed for the rebuilds.
                for name in plan.to_drop:
                    if on_step:
                        on_step(f"drop {name}", steps)
                    cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                    report.dropped.append(name)
                for index in plan.to_create:
                    if on_step:
                        on_step(f"build {index.name}", steps)
                    cursor.execute(index.definition)
                    report.created.append(index.name)
            finally:
                # The connection goes on serving other work (a worker, the web process).
                cursor.execute("RESET maintenance_work_mem")
    if report.created or report.dropped:
        logger.info("own indexes: %d built, %d dropped", len(report.created), len(report.dropped))
    return report


@contextmanager
def _sync_lock() -> Iterator[bool]:
    """A session-level advisory lock: yields whether this process got it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SYNC_LOCK_KEY])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_SYNC_LOCK_KEY])
