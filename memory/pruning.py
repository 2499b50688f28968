"""Pruning: applying a vendor's retention policy, in small batches that never block chat.

Each batch is its own short transaction that locks the rows it deletes with ``SKIP LOCKED``
(rows another transaction holds wait for the next run) and adds its counts to the run's
``PruneRun`` row, so a run that dies midway says what it removed and the next run goes on
where it stopped: every rule selects by age or rank, so running it twice removes nothing
twice. Derived data follows its source in the same transaction: word statistics are
subtracted, facts forget pruned sources (and say when), outbox jobs about pruned messages
go, and the speaker-name cache is cleared. Embeddings and full-text vectors are columns of
the deleted rows; own partial indexes are dropped by their sync once their end user is small.

A run applies the rules in this order: idle end users (erased whole), old messages (and,
when the policy says so, the facts left without any source), facts past their time-to-live,
the cap on facts per end user, old summaries.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from memory.erasure import end_user_rows_delete
from memory.models import PruneRun, PruneRunStatus
from memory.retention import EffectiveRules, effective_rules
from memory.services import speakers_forget, term_stats_subtract
from tenants.models import AuditEvent, EndUser, Vendor

BATCH_SIZE = 500

TIERS = ("end_users", "messages", "facts", "summaries")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class PruneReport:
    vendor_slug: str
    dry_run: bool
    counts: dict[str, int]
    rules: dict[str, Any]


def _cutoff(now: datetime, days: int | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(TIERS, 0)


# --- the preview ----------------------------------------------------------------------------


def prune_preview(
    *, vendor: Vendor, rules: EffectiveRules | None = None, now: datetime | None = None
) -> dict[str, int]:
    """What a run would remove now, per tier, without removing anything. Rows of idle end
    users count under their tiers and under end_users; each row is counted once, under the
    first rule that removes it."""
    rules = rules or effective_rules(vendor)
    now = now or timezone.now()
    counts = _empty_counts()
    idle_cutoff = _cutoff(now, rules.idle_days)
    message_cutoff = _cutoff(now, rules.message_days)
    ttl_cutoff = _cutoff(now, rules.fact_ttl_days)
    summary_cutoff = _cutoff(now, rules.summary_days)
    params = {
        "vendor": vendor.pk,
        "idle": idle_cutoff,
        "messages": message_cutoff,
        "ttl": ttl_cutoff,
        "summaries": summary_cutoff,
        "cap": rules.fact_cap,
        "drop": rules.drop_orphan_facts and message_cutoff is not None,
    }
    with connection.cursor() as cursor:
        # idle: the vendor's end users the idle rule erases; kept: the others.
        cursor.execute(
            """
            WITH users AS (
                SELECT id, (%(idle)s::timestamptz IS NOT NULL AND
                            coalesce(last_active_at, created_at) < %(idle)s) AS idle
                FROM tenants_enduser WHERE vendor_id = %(vendor)s
            ),
            facts AS (
                SELECT f.id, f.end_user_id, u.idle, f.valid_to, f.importance, f.mention_count,
                       f.last_seen_at,
                       (%(ttl)s::timestamptz IS NOT NULL AND f.last_seen_at < %(ttl)s) AS expired,
                       (%(drop)s AND (f.sources_pruned_at IS NOT NULL OR
                                      cardinality(f.source_message_ids) > 0)
                        AND NOT EXISTS (
                            SELECT 1 FROM memory_message m
                            WHERE m.id = ANY(f.source_message_ids)
                              AND m.created_at >= %(messages)s)) AS orphaned
                FROM memory_fact f JOIN users u ON u.id = f.end_user_id
            ),
            ranked AS (
                SELECT id, row_number() OVER (
                    PARTITION BY end_user_id
                    ORDER BY (valid_to IS NULL) DESC, importance DESC, mention_count DESC,
                             last_seen_at DESC, id DESC) AS rank
                FROM facts WHERE NOT idle AND NOT expired AND NOT orphaned
            )
            SELECT
                (SELECT count(*) FROM users WHERE idle),
                (SELECT count(*) FROM memory_message m JOIN users u ON u.id = m.end_user_id
                 WHERE u.idle OR (%(messages)s::timestamptz IS NOT NULL
                                  AND m.created_at < %(messages)s)),
                (SELECT count(*) FROM facts WHERE idle OR expired OR orphaned)
                + (SELECT count(*) FROM ranked
                   WHERE %(cap)s::int IS NOT NULL AND rank > %(cap)s),
                (SELECT count(*) FROM memory_summary s JOIN users u ON u.id = s.end_user_id
                 WHERE u.idle OR (%(summaries)s::timestamptz IS NOT NULL
                                  AND s.created_at < %(summaries)s))
            """,
            params,
        )
        row = cursor.fetchone()
    counts.update(zip(TIERS, (int(value) for value in row), strict=True))
    return counts


# --- the run --------------------------------------------------------------------------------


def vendor_prune(
    *,
    vendor: Vendor,
    actor: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> PruneReport:
    """Apply the vendor's retention policy; ``dry_run`` only counts. A real run leaves a
    PruneRun row and one audit event with the counts removed (zero counts included)."""
    rules = effective_rules(vendor)
    now = now or timezone.now()
    if dry_run:
        counts = prune_preview(vendor=vendor, rules=rules, now=now)
        return PruneReport(vendor.slug, True, counts, rules.as_dict())
    # Runs that died before finishing are marked so; their counts stay as they were.
    PruneRun.objects.filter(vendor=vendor, status=PruneRunStatus.RUNNING).update(
        status=PruneRunStatus.INTERRUPTED
    )
    run = PruneRun.objects.create(vendor=vendor, actor=actor, rules=rules.as_dict())
    run.counts = _empty_counts()
    run.save(update_fields=["counts"])
    pruner = _Pruner(vendor, run, rules, now, batch_size, progress)
    pruner.idle_end_users()
    pruner.messages()
    pruner.facts()
    pruner.fact_cap()
    pruner.summaries()
    with transaction.atomic():
        PruneRun.objects.filter(pk=run.pk).update(
            status=PruneRunStatus.DONE, finished_at=timezone.now()
        )
        run.refresh_from_db(fields=["counts"])
        counts = {tier: int(run.counts.get(tier, 0)) for tier in TIERS}  # jsonb sorts keys
        AuditEvent.objects.create(
            vendor=vendor,
            action=AuditEvent.Action.PRUNE_RUN,
            actor=actor,
            target=str(run.pk),
            data={"counts": counts, "rules": rules.as_dict()},
        )
    return PruneReport(vendor.slug, False, counts, rules.as_dict())


def vendors_to_prune() -> list[Vendor]:
    """Every vendor whose effective policy has a rule: the others have nothing to do."""
    return [vendor for vendor in Vendor.objects.order_by("slug") if effective_rules(vendor).active]


def prune_all(*, actor: str, progress: Progress | None = None) -> list[PruneReport]:
    """The scheduled run: every vendor with a policy, one after another."""
    return [
        vendor_prune(vendor=vendor, actor=actor, progress=progress) for vendor in vendors_to_prune()
    ]


class _Pruner:
    def __init__(
        self,
        vendor: Vendor,
        run: PruneRun,
        rules: EffectiveRules,
        now: datetime,
        batch_size: int,
        progress: Progress | None,
    ) -> None:
        self.vendor = vendor
        self.run = run
        self.rules = rules
        self.now = now
        self.batch_size = batch_size
        self.progress = progress

    def _record(self, counts: dict[str, int]) -> None:
        """Add a batch's counts to the run's row; called inside the batch's transaction."""
        if not any(counts.values()):
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE memory_prunerun SET counts = ("
                " SELECT jsonb_object_agg(key, coalesce((counts->>key)::bigint, 0)"
                " + coalesce((%s::jsonb->>key)::bigint, 0))"
                " FROM jsonb_object_keys(counts || %s::jsonb) AS key) WHERE id = %s",
                [_json(counts), _json(counts), self.run.pk],
            )
        if self.progress is not None:
            self.progress(sum(counts.values()))

    def _end_user_ids(self) -> list[UUID]:
        return list(
            EndUser.objects.filter(vendor=self.vendor).order_by("pk").values_list("pk", flat=True)
        )

    # idle end users ---------------------------------------------------------------------

    def idle_end_users(self) -> None:
        cutoff = _cutoff(self.now, self.rules.idle_days)
        if cutoff is None:
            return
        idle = EndUser.objects.filter(vendor=self.vendor).annotate(
            active=Coalesce(F("last_active_at"), F("created_at"))
        )
        for end_user_id in idle.filter(active__lt=cutoff).values_list("pk", flat=True):
            with transaction.atomic():
                # Checked again under the lock: they may have spoken since the list was read.
                end_user = (
                    EndUser.objects.select_for_update(skip_locked=True)
                    .annotate(active=Coalesce(F("last_active_at"), F("created_at")))
                    .filter(pk=end_user_id, active__lt=cutoff)
                    .first()
                )
                if end_user is None:
                    continue
                counts = end_user_rows_delete(end_user=end_user)
                self._record(
                    {
                        "end_users": 1,
                        "messages": counts["messages"],
                        "facts": counts["facts"],
                        "summaries": counts["summaries"],
                    }
                )

    # messages ---------------------------------------------------------------------------

    def messages(self) -> None:
        cutoff = _cutoff(self.now, self.rules.message_days)
        if cutoff is None:
            return
        for end_user_id in self._end_user_ids():
            pruned_any = False
            while True:
                with transaction.atomic():
                    ids = self._old_messages_lock(end_user_id, cutoff)
                    if not ids:
                        break
                    self._messages_delete(end_user_id, ids)
                    pruned_any = True
            if self.rules.drop_orphan_facts:
                with transaction.atomic():
                    self._record({"facts": self._orphaned_facts_delete(end_user_id)})
            if pruned_any:
                speakers_forget(end_user=EndUser(pk=end_user_id))

    def _old_messages_lock(self, end_user_id: UUID, cutoff: datetime) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM memory_message WHERE end_user_id = %s AND created_at < %s"
                " ORDER BY created_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                [end_user_id, cutoff, self.batch_size],
            )
            return [row[0] for row in cursor.fetchall()]

    def _messages_delete(self, end_user_id: UUID, ids: list[int]) -> None:
        term_stats_subtract(end_user=EndUser(pk=end_user_id), message_ids=ids)
        with connection.cursor() as cursor:
            # The facts keep their text, embedding and search; they forget these sources
            # and remember when they lost them.
            cursor.execute(
                "UPDATE memory_fact SET sources_pruned_at = %s, source_message_ids = array("
                " SELECT id FROM unnest(source_message_ids) AS id WHERE id <> ALL(%s))"
                " WHERE end_user_id = %s AND source_message_ids && %s::bigint[]",
                [self.now, ids, end_user_id, ids],
            )
            cursor.execute(
                "DELETE FROM memory_outboxjob WHERE end_user_id = %s AND kind = 'extract_facts'"
                " AND (payload->>'message_id')::bigint = ANY(%s)",
                [end_user_id, ids],
            )
            cursor.execute("DELETE FROM memory_message WHERE id = ANY(%s)", [ids])
            self._record({"messages": cursor.rowcount})

    def _orphaned_facts_delete(self, end_user_id: UUID) -> int:
        """Facts whose every source message was pruned (API facts, with none, stay)."""
        return _facts_delete(
            end_user_id,
            "sources_pruned_at IS NOT NULL AND NOT EXISTS ("
            " SELECT 1 FROM memory_message m WHERE m.id = ANY(f.source_message_ids))",
            [],
            self.batch_size,
        )

    # facts ------------------------------------------------------------------------------

    def facts(self) -> None:
        cutoff = _cutoff(self.now, self.rules.fact_ttl_days)
        if cutoff is None:
            return
        for end_user_id in self._end_user_ids():
            while True:
                with transaction.atomic():
                    deleted = _facts_delete(
                        end_user_id, "f.last_seen_at < %s", [cutoff], self.batch_size
                    )
                    self._record({"facts": deleted})
                if deleted < self.batch_size:
                    break

    def fact_cap(self) -> None:
        cap = self.rules.fact_cap
        if cap is None:
            return
        for end_user_id in self._end_user_ids():
            while True:
                with transaction.atomic():
                    deleted = _facts_delete(
                        end_user_id,
                        "f.id IN (SELECT id FROM (SELECT id, row_number() OVER ("
                        " ORDER BY (valid_to IS NULL) DESC, importance DESC, mention_count DESC,"
                        " last_seen_at DESC, id DESC) AS rank"
                        " FROM memory_fact WHERE end_user_id = %s) ranked WHERE rank > %s)",
                        [end_user_id, cap],
                        self.batch_size,
                    )
                    self._record({"facts": deleted})
                if deleted < self.batch_size:
                    break

    # summaries --------------------------------------------------------------------------

    def summaries(self) -> None:
        cutoff = _cutoff(self.now, self.rules.summary_days)
        if cutoff is None:
            return
        for end_user_id in self._end_user_ids():
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        "DELETE FROM memory_summary WHERE id IN ("
                        " SELECT id FROM memory_summary WHERE end_user_id = %s"
                        " AND created_at < %s LIMIT %s FOR UPDATE SKIP LOCKED)",
                        [end_user_id, cutoff, self.batch_size],
                    )
                    deleted = cursor.rowcount
                    self._record({"summaries": deleted})
                if deleted < self.batch_size:
                    break


def _facts_delete(end_user_id: UUID, condition: str, params: list[Any], limit: int) -> int:
    """Delete up to ``limit`` of the end user's facts matching ``condition`` (on alias f),
    skipping locked ones; the facts they superseded forget them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT f.id FROM memory_fact f WHERE f.end_user_id = %s AND ({condition})"  # noqa: S608
            " ORDER BY f.id LIMIT %s FOR UPDATE SKIP LOCKED",
            [end_user_id, *params, limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return 0
        cursor.execute(
            "UPDATE memory_fact SET superseded_by_id = NULL WHERE superseded_by_id = ANY(%s)",
            [ids],
        )
        cursor.execute("DELETE FROM memory_fact WHERE id = ANY(%s)", [ids])
        return int(cursor.rowcount)


def _json(value: dict[str, int]) -> str:
    return json.dumps(value)
