"""Erasing an end user: everything about them gone, provably, with a receipt."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from billing.models import Surface, UsageRecord, UsageStatus
from memory import extraction
from memory.erasure import end_user_erase
from memory.models import Fact, Message, OutboxJob, Summary, TermStat
from memory.retrieval import memories_search
from memory.services import ImportResult, MessageInput, messages_import
from tenants.models import AuditEvent, EndUser, Thread, Vendor
from tests.factories import EndUserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # background jobs run at commit

LINES = [
    "My name is Alice and I live in Lisbon.",
    "I work as a nurse at the city hospital.",
    "My dog is called Biscuit.",
    "I love hiking in the mountains.",
]
MEMORY_TABLES = (Message, Fact, Summary, TermStat, OutboxJob)


def _rows_of(end_user_id: object) -> dict[str, int]:
    """A scan of every memory table for the end user's id, in SQL, past the ORM."""
    found = {}
    with connection.cursor() as cursor:
        for model in (*MEMORY_TABLES, Thread):
            table = model._meta.db_table
            cursor.execute(f"SELECT count(*) FROM {table} WHERE end_user_id = %s", [end_user_id])  # noqa: S608
            found[table] = cursor.fetchone()[0]
    return found


@pytest.fixture
def remembered(vendor: Vendor, say: Callable[..., ImportResult]) -> EndUser:
    """An end user with messages, facts, a summary, term statistics and a usage record."""
    end_user = EndUserFactory(vendor=vendor, external_id="alice")
    with override_settings(MEMORY_SUMMARY_WINDOW=2):
        say(end_user, LINES)
        say(end_user, ["I also have a cat named Miso."], thread="t2")
    UsageRecord.objects.create(
        vendor=vendor,
        end_user=end_user,
        thread=Thread.objects.filter(end_user=end_user).first(),
        surface=Surface.CHAT,
        status=UsageStatus.OK,
        backend="openai",
        model="m",
        prompt_tokens=10,
        completion_tokens=5,
        baseline_tokens=40,
        memory_items=2,
        retrieval_ms=1.0,
        total_ms=2.0,
    )
    return end_user


def test_erasing_an_end_user_deletes_every_tier_and_returns_a_receipt(
    api: APIClient, remembered: EndUser
) -> None:
    # given everything the write path stores for an end user
    end_user_id = remembered.pk
    before = _rows_of(end_user_id)
    assert all(before[model._meta.db_table] for model in MEMORY_TABLES), before

    # when the vendor erases them
    response = api.delete("/v1/users/alice")

    # then the receipt counts what went, and a scan of every table finds nothing of them
    assert response.status_code == 200, response.content
    receipt = response.json()
    assert receipt["counts"] == {
        "messages": before["memory_message"],
        "facts": before["memory_fact"],
        "summaries": before["memory_summary"],
        "threads": before["tenants_thread"],
        "term_stats": before["memory_termstat"],
        "jobs": before["memory_outboxjob"],
    }
    assert set(_rows_of(end_user_id).values()) == {0}
    assert not EndUser.objects.filter(pk=end_user_id).exists()
    assert api.get("/v1/users/alice").status_code == 404


def test_usage_records_keep_their_counts_but_lose_the_person(
    api: APIClient, remembered: EndUser
) -> None:
    api.delete("/v1/users/alice")

    record = UsageRecord.objects.get()
    assert (record.end_user_id, record.thread_id) == (None, None)
    assert (record.prompt_tokens, record.baseline_tokens) == (10, 40)


def test_a_new_end_user_with_the_same_id_starts_empty(api: APIClient, remembered: EndUser) -> None:
    api.delete("/v1/users/alice")

    # when an end user with the same external id comes back
    assert api.post("/v1/users", {"external_id": "alice"}, format="json").status_code == 201
    again = EndUser.objects.get(external_id="alice")

    # then nothing of the erased one is found, in any tier
    for query in ["Where does Alice live?", "What is the dog called?", "Biscuit", "nurse"]:
        assert memories_search(end_user=again, query=query, k=10) == []
    assert api.get("/v1/users/alice/memories").json()["results"] == []


def test_the_receipt_can_be_read_again_and_holds_no_personal_data(
    api: APIClient, remembered: EndUser
) -> None:
    receipt = api.delete("/v1/users/alice").json()

    again = api.get(f"/v1/erasures/{receipt['id']}")

    assert again.status_code == 200
    assert again.json() == receipt
    event = AuditEvent.objects.get(action=AuditEvent.Action.END_USER_ERASED)
    stored = f"{event.target} {event.actor} {event.data}"
    assert "alice" not in stored.lower()
    assert str(remembered.pk) not in stored
    assert event.actor.startswith("api_key:")


def test_another_vendors_key_can_neither_erase_nor_read_a_receipt(
    api: APIClient,
    other_vendor: Vendor,
    client_for: Callable[..., APIClient],
    remembered: EndUser,
) -> None:
    other = client_for(other_vendor)

    assert other.delete("/v1/users/alice").status_code == 404
    assert Message.objects.filter(end_user=remembered).exists()
    receipt = api.delete("/v1/users/alice").json()
    assert other.get(f"/v1/erasures/{receipt['id']}").status_code == 404


def test_a_key_without_the_write_scope_cannot_erase(
    vendor: Vendor, client_for: Callable[..., APIClient], remembered: EndUser
) -> None:
    reader = client_for(vendor, scopes=["users:read"])

    assert reader.delete("/v1/users/alice").status_code == 403
    assert Message.objects.filter(end_user=remembered).exists()


def test_an_unknown_receipt_is_a_404(api: APIClient) -> None:
    assert api.get("/v1/erasures/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get("/v1/erasures/not-a-uuid").status_code == 404


def test_an_extraction_in_flight_brings_nothing_back_after_the_erase(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an end user whose message's facts are being extracted when the erase commits
    end_user = EndUserFactory(vendor=vendor, external_id="carol")
    real_extract = extraction.extract_facts

    def erase_meanwhile(*args: object, **kwargs: object) -> list[extraction.ExtractedFact]:
        facts = real_extract(*args, **kwargs)  # type: ignore[arg-type]
        # the erase runs on a connection of its own and commits while the job still runs
        worker = threading.Thread(
            target=lambda: (
                end_user_erase(end_user=EndUser.objects.get(pk=end_user.pk), actor="test"),
                connection.close(),
            )
        )
        worker.start()
        worker.join()
        return facts

    monkeypatch.setattr(extraction, "extract_facts", erase_meanwhile)

    # when the message is stored and its jobs run (inline, at commit)
    messages_import(
        end_user=end_user,
        messages=[MessageInput(thread_external_id="t", role="user", content=LINES[2])],
    )

    # then nothing of the end user is left: the job could not bring a fact back
    assert set(_rows_of(end_user.pk).values()) == {0}
    assert not EndUser.objects.filter(pk=end_user.pk).exists()


def test_erasing_a_thread_removes_it_and_what_only_it_said(
    api: APIClient, remembered: EndUser
) -> None:
    # given two threads; a fact told in t2 alone, and word statistics counting both
    t2 = Thread.objects.get(end_user=remembered, external_id="t2")
    t2_messages = set(Message.objects.filter(thread=t2).values_list("pk", flat=True))
    cat = Fact.objects.get(end_user=remembered, attribute__icontains="cat")
    assert set(cat.source_message_ids) <= t2_messages
    documents = TermStat.objects.get(end_user=remembered, lexeme=TermStat.DOCUMENTS_LEXEME)
    kept_messages = Message.objects.filter(end_user=remembered).exclude(thread=t2).count()
    assert documents.document_count == kept_messages + len(t2_messages)
    assert TermStat.objects.filter(end_user=remembered, lexeme="miso").exists()

    # when the vendor erases t2
    response = api.delete("/v1/users/alice/threads/t2")

    # then t2, its messages and its fact are gone; t1 and its facts stay
    assert response.status_code == 200, response.content
    receipt = response.json()
    assert receipt["counts"]["messages"] == len(t2_messages)
    assert receipt["counts"]["facts"] >= 1
    assert not Thread.objects.filter(pk=t2.pk).exists()
    assert not Message.objects.filter(pk__in=t2_messages).exists()
    assert not Fact.objects.filter(pk=cat.pk).exists()
    assert Fact.objects.filter(end_user=remembered, attribute="dog_name").exists()
    assert not Fact.objects.filter(source_message_ids__overlap=list(t2_messages)).exists()
    assert not any("Miso" in text for text in search_texts(remembered, "Is the cat Miso?"))
    # and the word statistics count only what is left, with no stem of t2 alone
    documents.refresh_from_db()
    assert documents.document_count == kept_messages
    assert not TermStat.objects.filter(end_user=remembered, lexeme="miso").exists()
    assert api.get(f"/v1/erasures/{receipt['id']}").json() == receipt
    assert api.get("/v1/users/alice/threads/t2/messages").status_code == 404


def search_texts(end_user: EndUser, query: str) -> list[str]:
    return [item.text for item in memories_search(end_user=end_user, query=query, k=20)]


def test_another_vendors_key_cannot_erase_a_thread(
    other_vendor: Vendor, client_for: Callable[..., APIClient], remembered: EndUser
) -> None:
    assert client_for(other_vendor).delete("/v1/users/alice/threads/t2").status_code == 404
    assert Thread.objects.filter(end_user=remembered, external_id="t2").exists()


def test_an_unknown_thread_is_a_404(api: APIClient, remembered: EndUser) -> None:
    assert api.delete("/v1/users/alice/threads/nope").status_code == 404
