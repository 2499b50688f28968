"""The outbox across broker outages: jobs the broker never took, and a broker that came back
empty (Redis restarted without persistence), are sent again at the next sweep, all of them.

Before, a job marked as enqueued waited five minutes (the sweep threshold) whether or not it
ever reached the broker, a broker that lost its queues went unnoticed for as long, and a sweep
sent at most 1,000 jobs a minute.
"""

import pytest
import redis
from kombu.exceptions import EncodeError

from infyn.lib.broker import broker_lost_its_queues, broker_outage
from memory import outbox
from memory.embeddings import embed_texts
from memory.jobs import work
from memory.jobs.runners import CeleryRunner
from memory.models import JobStatus, OutboxJob
from memory.outbox import outbox_sweep
from memory.services import message_create
from tenants.models import EndUser, Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_refuses(celery_runner: CeleryRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr("memory.tasks.run_outbox_jobs_task.delay", broker_down)


def store(end_user: EndUser, content: str = "My dog is called Biscuit.") -> None:
    thread, _ = Thread.objects.get_or_create(end_user=end_user, external_id="t")
    message_create(thread=thread, role="user", content=content)


def test_jobs_the_broker_did_not_take_are_swept_at_once_not_after_minutes(
    end_user: EndUser, broker_refuses: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a broker that refuses the jobs of a new message
    store(end_user)
    assert set(OutboxJob.objects.values_list("enqueued_at", flat=True)) == {None}

    # when it is back and the sweeper runs (in a worker) with the default five-minute threshold
    monkeypatch.undo()
    broker_outage.end()
    swept = outbox_sweep(older_than_seconds=300)

    # then the jobs that never reached the broker are sent now, and done
    assert swept == 2
    assert not OutboxJob.objects.filter(status=JobStatus.PENDING).exists()


def test_after_a_failed_publish_the_broker_is_left_alone_for_a_moment(
    end_user: EndUser, broker_refuses: None
) -> None:
    store(end_user)

    assert broker_outage.active()  # the next messages do not each wait on a dead broker


def test_a_broker_that_lost_its_queues_gets_every_pending_job_again(
    end_user: EndUser, celery_runner: CeleryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given jobs that reached the broker a moment ago (so not due by their age) and were lost
    sent: list[list[int]] = []
    monkeypatch.setattr(
        "memory.tasks.run_outbox_jobs_task.delay", lambda batch: sent.append(list(batch))
    )
    store(end_user)
    sent.clear()

    assert outbox_sweep(older_than_seconds=300) == 0
    assert outbox_sweep(older_than_seconds=300, broker_lost_queues=True) == 2
    assert sorted(job for batch in sent for job in batch) == sorted(
        OutboxJob.objects.values_list("pk", flat=True)
    )


def test_one_sweep_sends_a_backlog_of_any_size(
    end_user: EndUser, broker_refuses: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        store(end_user, f"Message number {n}.")
    pending = OutboxJob.objects.filter(status=JobStatus.PENDING).count()
    monkeypatch.undo()
    broker_outage.end()
    monkeypatch.setattr(outbox, "SWEEP_PAGE", 3)

    assert outbox_sweep(older_than_seconds=300) == pending
    assert not OutboxJob.objects.filter(status=JobStatus.PENDING).exists()


def test_a_sweep_stops_once_the_broker_is_down_and_leaves_the_rest_for_the_next(
    end_user: EndUser, broker_refuses: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a backlog of jobs the broker never took, swept in pages of three
    for n in range(5):
        store(end_user, f"Message number {n}.")
    pending = OutboxJob.objects.filter(status=JobStatus.PENDING).count()
    monkeypatch.setattr(outbox, "SWEEP_PAGE", 3)
    broker_outage.end()  # the outage window has passed, but the broker is still down

    # when the sweeper runs
    swept = outbox_sweep(older_than_seconds=300)

    # then it stops at the first page, the one that found the broker down, having sent nothing
    assert swept == 0
    assert broker_outage.active()
    assert OutboxJob.objects.filter(status=JobStatus.PENDING).count() == pending
    assert set(OutboxJob.objects.values_list("enqueued_at", flat=True)) == {None}


def test_a_publish_that_fails_for_another_reason_than_the_broker_is_not_an_outage(
    end_user: EndUser, celery_runner: CeleryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given jobs the broker never took, and a publish that cannot encode them
    sent: list[list[int]] = []
    monkeypatch.setattr(
        "memory.tasks.run_outbox_jobs_task.delay", lambda batch: sent.append(list(batch))
    )
    store(end_user)
    OutboxJob.objects.update(enqueued_at=None)

    def cannot_encode(*args: object, **kwargs: object) -> None:
        raise EncodeError("not JSON")

    monkeypatch.setattr("memory.tasks.run_outbox_jobs_task.delay", cannot_encode)

    # when the sweeper runs
    swept = outbox_sweep(older_than_seconds=300)

    # then the broker is not thought down, and the jobs wait, never enqueued, for the next sweep
    assert swept == 0
    assert not broker_outage.active()
    assert OutboxJob.objects.filter(status=JobStatus.PENDING).exists()
    assert set(OutboxJob.objects.values_list("enqueued_at", flat=True)) == {None}


def test_in_the_inline_mode_a_jobs_own_error_is_not_taken_for_a_broker_outage(
    end_user: EndUser, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given background work that fails as a whole: the new facts cannot be embedded
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("embedding model bug")

    content = "My dog is called Biscuit."
    vector = embed_texts([content])[0]
    monkeypatch.setattr(work, "embed_texts", crash)
    thread, _ = Thread.objects.get_or_create(end_user=end_user, external_id="t")

    # when a message is stored, and its jobs run at commit (the tests' inline mode)
    message_create(thread=thread, role="user", content=content, embedding=vector)

    # then the error is logged as the jobs', the broker is not thought down, and the jobs
    # stay pending as sent (not as never taken), for the sweeper
    assert "embedding model bug" in caplog.text
    assert not broker_outage.active()
    assert OutboxJob.objects.filter(status=JobStatus.PENDING).count() == 2
    assert None not in set(OutboxJob.objects.values_list("enqueued_at", flat=True))


@pytest.mark.redis
def test_the_broker_marker_tells_when_the_broker_came_back_empty(
    redis_url: str, settings: object
) -> None:
    settings.CELERY_BROKER_URL = redis_url  # type: ignore[attr-defined]

    first = broker_lost_its_queues()  # a broker never seen before counts as emptied
    again = broker_lost_its_queues()
    redis.Redis.from_url(redis_url).flushdb()  # what a restart without persistence does
    after_restart = broker_lost_its_queues()

    assert (first, again, after_restart) == (True, False, True)
