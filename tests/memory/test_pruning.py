"""Pruning by retention policy: what the policy names goes, everywhere; everything else stays."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from memory import pruning
from memory.models import (
    Fact,
    Message,
    PlatformRetentionPolicy,
    PruneRun,
    PruneRunStatus,
    Summary,
    TermStat,
    VendorRetentionPolicy,
)
from memory.pruning import prune_preview, vendor_prune
from memory.retrieval import memories_search
from memory.services import ImportResult, fact_create_explicit, summaries_update
from tenants.models import AuditEvent, EndUser, Vendor
from tests.factories import EndUserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # background jobs run at commit

OLD = ["My dog is called Biscuit.", "I work as a nurse at the city hospital."]
RECENT = ["I love hiking in the mountains.", "My sister lives in Porto."]


def _policy(vendor: Vendor, **rules: object) -> VendorRetentionPolicy:
    return VendorRetentionPolicy.objects.create(vendor=vendor, **rules)


@pytest.fixture
def alice(vendor: Vendor, say: Callable[..., ImportResult]) -> EndUser:
    """Two old turns (March 2024, thread t1) and two from yesterday (thread t2)."""
    end_user = EndUserFactory(vendor=vendor, external_id="alice")
    with override_settings(MEMORY_SUMMARY_WINDOW=2):
        say(end_user, OLD)
        say(end_user, RECENT, thread="t2", start=timezone.now() - timedelta(days=1))
    return end_user


def _term_stats_recounted(end_user: EndUser) -> dict[str, int]:
    """The document frequencies as they would be counted from scratch over what is left."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, count(*) FROM memory_message m,"
            " unnest(tsvector_to_array(m.search_vector)) AS lexeme"
            " WHERE m.end_user_id = %s GROUP BY lexeme",
            [end_user.pk],
        )
        counted = dict(cursor.fetchall())
    messages = Message.objects.filter(end_user=end_user)
    counted[TermStat.DOCUMENTS_LEXEME] = messages.count()
    counted[TermStat.TOKENS_LEXEME] = sum(messages.values_list("token_count", flat=True))
    return counted


def _term_stats(end_user: EndUser) -> dict[str, int]:
    return dict(TermStat.objects.filter(end_user=end_user).values_list("lexeme", "document_count"))


def test_old_messages_go_and_their_facts_keep_answering(alice: EndUser, vendor: Vendor) -> None:
    biscuit = Fact.objects.get(end_user=alice, text__icontains="Biscuit")
    _policy(vendor, message_retention_days=30)
    preview = prune_preview(vendor=vendor)

    report = vendor_prune(vendor=vendor, actor="test")

    assert report.counts == preview
    assert report.counts["messages"] == 2
    assert sorted(Message.objects.filter(end_user=alice).values_list("content", flat=True)) == (
        sorted(RECENT)
    )
    biscuit.refresh_from_db()
    assert biscuit.source_message_ids == []
    assert biscuit.sources_pruned_at is not None
    found = memories_search(end_user=alice, query="What is my dog called?", k=3)
    assert any("Biscuit" in memory.text for memory in found)
    assert not any(memory.type == "message" and "Biscuit" in memory.text for memory in found)
    # Word statistics follow: exactly what counting the remaining messages gives.
    assert _term_stats(alice) == _term_stats_recounted(alice)
    event = AuditEvent.objects.get(vendor=vendor, action=AuditEvent.Action.PRUNE_RUN)
    assert event.data["counts"] == report.counts
    assert PruneRun.objects.get(vendor=vendor).status == PruneRunStatus.DONE


def test_a_second_run_removes_nothing(alice: EndUser, vendor: Vendor) -> None:
    _policy(vendor, message_retention_days=30, fact_ttl_days=60)
    vendor_prune(vendor=vendor, actor="test")
    again = vendor_prune(vendor=vendor, actor="test")
    assert again.counts == dict.fromkeys(pruning.TIERS, 0)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PRUNE_RUN).count() == 2


def test_dropping_facts_whose_every_source_is_gone(alice: EndUser, vendor: Vendor) -> None:
    stated = fact_create_explicit(
        end_user=alice, text="Prefers email", category="other", importance=0.5
    )
    _policy(vendor, message_retention_days=30, facts_on_message_prune="drop")
    preview = prune_preview(vendor=vendor)
    report = vendor_prune(vendor=vendor, actor="test")
    assert report.counts == preview
    texts = list(Fact.objects.filter(end_user=alice).values_list("text", flat=True))
    assert not any("Biscuit" in text or "nurse" in text for text in texts)
    assert any("hiking" in text for text in texts)
    assert Fact.objects.filter(pk=stated.pk).exists()  # stated through the API: no source


def test_fact_time_to_live_and_cap(alice: EndUser, vendor: Vendor) -> None:
    Fact.objects.filter(end_user=alice, text__icontains="Biscuit").update(
        last_seen_at=timezone.now() - timedelta(days=100)
    )
    before = Fact.objects.filter(end_user=alice).count()
    assert before >= 4
    _policy(vendor, fact_ttl_days=90, fact_cap_per_end_user=2)
    preview = prune_preview(vendor=vendor)
    report = vendor_prune(vendor=vendor, actor="test")
    assert (
        report.counts
        == preview
        == {"end_users": 0, "messages": 0, "facts": before - 2, "summaries": 0}
    )
    assert not Fact.objects.filter(end_user=alice, text__icontains="Biscuit").exists()
    assert Fact.objects.filter(end_user=alice).count() == 2
    assert Message.objects.filter(end_user=alice).count() == 4


def test_summaries_outlive_their_messages_until_their_own_rule(
    alice: EndUser, vendor: Vendor
) -> None:
    assert Summary.objects.filter(end_user=alice).count() == 2
    policy = _policy(vendor, message_retention_days=30)
    vendor_prune(vendor=vendor, actor="test")
    assert Summary.objects.filter(end_user=alice).count() == 2
    # A later summary run resumes after the summaries it has, with their messages gone.
    assert summaries_update(thread=alice.threads.get(external_id="t1")) == []
    policy.summary_retention_days = 30
    policy.save()
    report = vendor_prune(vendor=vendor, actor="test")
    assert report.counts["summaries"] == 1
    assert Summary.objects.filter(end_user=alice).count() == 1


def test_idle_end_users_are_erased(
    alice: EndUser, vendor: Vendor, say: Callable[..., ImportResult]
) -> None:
    idle = EndUserFactory(vendor=vendor, external_id="idle")
    say(idle, OLD)
    assert idle.__class__.objects.get(pk=idle.pk).last_active_at is not None
    _policy(vendor, idle_end_user_days=180)
    preview = prune_preview(vendor=vendor)
    report = vendor_prune(vendor=vendor, actor="test")
    assert report.counts == preview
    assert report.counts["end_users"] == 1
    assert report.counts["messages"] == 2
    assert not EndUser.objects.filter(pk=idle.pk).exists()
    assert Message.objects.filter(end_user=alice).count() == 4  # spoke yesterday


def test_the_platform_default_applies_and_another_vendor_is_untouched(
    alice: EndUser, vendor: Vendor, other_vendor: Vendor, say: Callable[..., ImportResult]
) -> None:
    bob = EndUserFactory(vendor=other_vendor, external_id="alice")
    say(bob, OLD)
    PlatformRetentionPolicy.objects.create(message_retention_days=30)
    _policy(other_vendor, message_retention_days=0)  # 0: forever, over the default
    assert [v.pk for v in pruning.vendors_to_prune()] == [vendor.pk]
    pruning.prune_all(actor="test")
    assert Message.objects.filter(end_user=alice).count() == 2
    assert Message.objects.filter(end_user=bob).count() == 2
    assert not AuditEvent.objects.filter(vendor=other_vendor, action=AuditEvent.Action.PRUNE_RUN)


def test_a_run_that_dies_is_marked_and_the_next_goes_on(
    alice: EndUser, vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    _policy(vendor, message_retention_days=30, fact_ttl_days=1)
    Fact.objects.filter(end_user=alice).update(last_seen_at=timezone.now() - timedelta(days=5))
    facts = Fact.objects.filter(end_user=alice).count()

    def crash(self: object) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(pruning._Pruner, "facts", crash)
    with pytest.raises(RuntimeError):
        vendor_prune(vendor=vendor, actor="test")
    died = PruneRun.objects.get(vendor=vendor)
    assert died.status == PruneRunStatus.RUNNING
    assert died.counts["messages"] == 2
    monkeypatch.undo()

    report = vendor_prune(vendor=vendor, actor="test")
    died.refresh_from_db()
    assert died.status == PruneRunStatus.INTERRUPTED
    assert report.counts["messages"] == 0
    assert report.counts["facts"] == facts
    assert not Fact.objects.filter(end_user=alice).exists()


def test_the_command_dry_run_removes_nothing(
    alice: EndUser, vendor: Vendor, capsys: pytest.CaptureFixture[str]
) -> None:
    _policy(vendor, message_retention_days=30)
    call_command("memory_prune", "--vendor", vendor.slug, "--dry-run")
    assert f"{vendor.slug}: would remove 0 end_users, 2 messages" in capsys.readouterr().out
    assert Message.objects.filter(end_user=alice).count() == 4
    assert not PruneRun.objects.exists()

    call_command("memory_prune")
    assert f"{vendor.slug}: removed 0 end_users, 2 messages" in capsys.readouterr().out
    assert Message.objects.filter(end_user=alice).count() == 2

    with pytest.raises(CommandError, match="No vendor with slug"):
        call_command("memory_prune", "--vendor", "nobody")
