import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from django.db import connection, transaction
from django.test import override_settings

from infyn.lib.broker import broker_outage
from memory.jobs.runners import CeleryRunner
from memory.jobs.work import MAX_JOB_ATTEMPTS
from memory.models import Fact, JobKind, JobStatus, Message, OutboxJob, Summary
from memory.outbox import outbox_sweep
from memory.services import MessageInput, message_create, messages_import
from tenants.models import EndUser, Thread
from tenants.services import thread_get_or_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failing_extractor(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr("memory.extraction.extract_facts", crash)


def test_import_stores_messages_with_embeddings_and_tokens(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ["My dog is called Biscuit.", "I live in Lisbon."])

    messages = list(Message.objects.filter(end_user=end_user).order_by("created_at"))
    assert [m.content for m in messages] == ["My dog is called Biscuit.", "I live in Lisbon."]
    assert all(m.embedding is not None and len(m.embedding) == 384 for m in messages)
    assert np.isclose(np.linalg.norm(messages[0].embedding), 1.0, atol=1e-3)
    assert all(m.token_count > 0 for m in messages)


def test_import_is_idempotent_per_thread_and_external_id(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    first = say(end_user, ["one", "two"])
    again = say(end_user, ["one", "two", "three"])

    assert (first.created, first.skipped) == (2, 0)
    assert (again.created, again.skipped) == (1, 2)
    assert Message.objects.filter(end_user=end_user).count() == 3


def test_import_runs_extraction_and_marks_jobs_done(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ["My dog is called Biscuit."])

    fact = Fact.objects.get(end_user=end_user, attribute="dog_name")
    assert fact.value == "Biscuit"
    assert fact.source_message_ids == [Message.objects.get(end_user=end_user).pk]
    assert fact.embedding is not None
    assert not OutboxJob.objects.filter(end_user=end_user).exclude(status=JobStatus.DONE).exists()


def test_repeated_fact_is_merged_not_duplicated(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ["My dog is called Biscuit.", "Did I say? My dog is called Biscuit."])

    facts = Fact.objects.filter(end_user=end_user, attribute="dog_name")
    assert facts.count() == 1
    assert facts.get().mention_count == 2
    assert len(facts.get().source_message_ids) == 2


def test_a_new_value_supersedes_the_old_fact_and_keeps_it_as_history(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ["I live in Lisbon.", "I moved to Berlin last month."])

    current = Fact.objects.filter(end_user=end_user, valid_to__isnull=True)
    old = Fact.objects.filter(end_user=end_user, valid_to__isnull=False)
    assert any("Berlin" in fact.value for fact in current)
    assert not any("Lisbon" in fact.value for fact in current)
    assert old.count() == 1
    assert old.get().superseded_by is not None


@override_settings(MEMORY_SUMMARY_WINDOW=4)
def test_a_summary_is_written_for_each_full_window(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    lines = [f"Sentence number {n} about gardening and tomatoes." for n in range(9)]

    say(end_user, lines)

    summaries = list(Summary.objects.filter(end_user=end_user).order_by("created_at"))
    assert len(summaries) == 2
    assert all(s.message_count == 4 for s in summaries)
    assert summaries[0].text.startswith("Conversation on")
    first_window = set(
        Message.objects.filter(end_user=end_user)
        .order_by("created_at")[:4]
        .values_list("id", flat=True)
    )
    assert set(summaries[0].source_message_ids) <= first_window


def test_the_users_message_is_kept_when_background_work_fails(
    end_user: EndUser, failing_extractor: None
) -> None:
    # given extraction that crashes (failing_extractor)
    thread = Thread.objects.create(end_user=end_user, external_id="t")

    # when a message arrives
    message = message_create(thread=thread, role="user", content="My name is Alice.")

    # then it is stored, and the job stays pending with its error, for the sweeper
    assert Message.objects.filter(pk=message.pk).exists()
    job = OutboxJob.objects.get(kind=JobKind.EXTRACT_FACTS, payload__message_id=message.pk)
    assert job.status == JobStatus.PENDING
    assert job.attempts == 1
    assert "extractor bug" in job.last_error
    # the summary job of the same batch was not held back by the failing one
    assert OutboxJob.objects.get(kind=JobKind.UPDATE_SUMMARY).status == JobStatus.DONE


def test_a_job_that_keeps_failing_is_marked_failed(
    end_user: EndUser, failing_extractor: None
) -> None:
    thread = Thread.objects.create(end_user=end_user, external_id="t")
    message_create(thread=thread, role="user", content="My name is Alice.")

    for _ in range(MAX_JOB_ATTEMPTS):
        outbox_sweep(older_than_seconds=0)

    job = OutboxJob.objects.get(kind=JobKind.EXTRACT_FACTS)
    assert job.status == JobStatus.FAILED
    assert job.attempts == MAX_JOB_ATTEMPTS


def test_sweeper_reenqueues_jobs_the_broker_never_got(
    end_user: EndUser, celery_runner: CeleryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a broker that is down when the message is stored
    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr("memory.tasks.run_outbox_jobs_task.delay", broker_down)
    thread = Thread.objects.create(end_user=end_user, external_id="t")
    message_create(thread=thread, role="user", content="My dog is called Biscuit.")
    assert OutboxJob.objects.filter(status=JobStatus.PENDING).count() == 2
    assert not Fact.objects.filter(end_user=end_user).exists()

    # when the broker is back and the sweeper runs (in a worker, which has not seen it fail)
    monkeypatch.undo()
    broker_outage.end()
    swept = outbox_sweep(older_than_seconds=0)

    # then the pending work is done, once
    assert swept == 2
    assert Fact.objects.filter(end_user=end_user, attribute="dog_name").count() == 1
    assert not OutboxJob.objects.filter(status=JobStatus.PENDING).exists()
    assert outbox_sweep(older_than_seconds=0) == 0


def test_messages_of_one_end_user_never_land_in_anothers_memory(
    end_user: EndUser, other_end_user: EndUser
) -> None:
    messages_import(
        end_user=end_user,
        messages=[MessageInput(thread_external_id="t", role="user", content="I live in Oslo.")],
    )

    assert not Message.objects.filter(end_user=other_end_user).exists()
    assert not Fact.objects.filter(end_user=other_end_user).exists()


def test_a_failed_job_waits_twice_as_long_after_each_attempt(
    end_user: EndUser, failing_extractor: None
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    thread = Thread.objects.create(end_user=end_user, external_id="t")
    message_create(thread=thread, role="user", content="My name is Alice.")
    job = OutboxJob.objects.get(kind=JobKind.EXTRACT_FACTS)
    assert job.attempts == 1
    an_hour_ago = timezone.now() - timedelta(hours=1)
    OutboxJob.objects.filter(pk=job.pk).update(created_at=an_hour_ago)

    # enqueued 100 s ago, after one failure: a 60 s base backoff doubles to 120 s: not yet
    OutboxJob.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(seconds=100))
    assert outbox_sweep(older_than_seconds=60) == 0
    # enqueued 130 s ago: due
    OutboxJob.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(seconds=130))
    assert outbox_sweep(older_than_seconds=60) == 1


@pytest.mark.django_db(transaction=True)
def test_in_the_embedded_mode_background_jobs_run_in_a_background_thread(
    end_user: EndUser, settings: Any
) -> None:
    from memory.jobs import inprocess
    from memory.services import message_create
    from tenants.services import thread_get_or_create

    settings.MEMORY_BACKGROUND_JOBS = "thread"
    thread, _ = thread_get_or_create(end_user=end_user, external_id="t")

    message_create(thread=thread, role="user", content="My sister Ana lives in Porto.")
    assert inprocess.wait_idle(timeout=60)
    assert inprocess.worker_thread_name() == "infyn-jobs"

    assert not OutboxJob.objects.exclude(status=JobStatus.DONE).exists()
    assert Fact.objects.filter(end_user=end_user, text__icontains="Porto").exists()


def test_a_writer_waiting_on_the_thread_lock_sees_the_message_stored_before_it(
    end_user: EndUser,
) -> None:
    """Two writers on one thread: the second, blocked on the thread's lock, must store after
    the first's message and reply to it, not take the same position."""
    thread, _ = thread_get_or_create(end_user=end_user, external_id="race")
    waiting: dict[str, Any] = {}

    def second_writer() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                waiting["pid"] = cursor.fetchone()[0]
            waiting["message"] = message_create(thread=thread, role="assistant", content="Hi Ana!")
        except Exception as exc:  # reported by the assertion below
            waiting["error"] = exc
        finally:
            connection.close()

    writer = threading.Thread(target=second_writer)
    with transaction.atomic():
        first = message_create(thread=thread, role="user", content="I'm Ana.")
        writer.start()
        blocked_on_our_lock = "SELECT cardinality(pg_blocking_pids(%s)) > 0"
        deadline = time.monotonic() + 30
        while True:
            with connection.cursor() as cursor:
                cursor.execute(blocked_on_our_lock, [waiting.get("pid", 0)])
                if cursor.fetchone()[0]:
                    break
            assert time.monotonic() < deadline, "the second writer never waited on the lock"
            time.sleep(0.05)
    writer.join(30)

    assert "error" not in waiting, waiting.get("error")
    second = waiting["message"]
    assert (first.position, second.position) == (1, 2)
    assert "replying to user: I'm Ana." in second.context_text
