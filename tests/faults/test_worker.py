"""A Celery worker killed (SIGKILL) in the middle of a batch of jobs: another worker finishes
them, each exactly once."""

from collections.abc import Callable

import httpx
import pytest
from django.db.models import F, Func

from memory.models import Fact, JobStatus, OutboxJob
from tenants.models import Vendor
from tests.faults.stack import (
    RedisServer,
    app_env,
    celery_worker,
    daphne,
    running,
    start_daphne,
    wait_until,
)
from tests.infyn.servers import current_database_url

pytestmark = pytest.mark.django_db(transaction=True)

HOBBIES = ["chess", "rowing", "pottery", "birdwatching", "salsa", "climbing", "baking", "judo"]


def history(size: int) -> list[dict[str, str]]:
    """Messages that each state facts, so that every extraction job has work to do."""
    return [
        {
            "thread": f"t{n % 7}",
            "role": "user",
            "external_id": f"m{n}",
            "content": f"My name is Person{n}. I love {HOBBIES[n % len(HOBBIES)]} and I live in "
            f"Town{n}.",
        }
        for n in range(size)
    ]


def test_a_worker_killed_mid_batch_loses_no_job_and_runs_none_twice(
    vendor: Vendor, raw_key_for: Callable[..., str]
) -> None:
    key = raw_key_for(vendor)
    redis_server = RedisServer()
    env = app_env(
        DATABASE_URL=current_database_url(),
        REDIS_URL=redis_server.url,
        INFYN_OUTBOX_SWEEP_AFTER_SECONDS="3",
    )
    web, base_url = daphne(env)
    first, second = celery_worker(env), celery_worker(env)
    with running(redis_server, web, first, second):
        redis_server.start()
        start_daphne(web, base_url)
        headers = {"Authorization": f"Bearer {key}"}
        httpx.post(f"{base_url}/v1/users", json={"external_id": "alice"}, headers=headers)
        imported = httpx.post(
            f"{base_url}/v1/users/alice/messages/import",
            json={"messages": history(600)},
            headers=headers,
            timeout=300,
        )
        assert imported.status_code == 201, imported.text
        jobs = OutboxJob.objects.count()

        # given a worker part-way through the batches
        first.start()
        wait_until(
            lambda: OutboxJob.objects.filter(status=JobStatus.DONE).count() >= 20,
            timeout=120,
            what=f"the first worker starting on the jobs:\n{first.log()[-2000:]}",
        )
        # when it is killed, mid-batch, and another takes over
        first.kill()
        done_when_killed = OutboxJob.objects.filter(status=JobStatus.DONE).count()
        second.start()

        # then every job is done
        wait_until(
            lambda: not OutboxJob.objects.filter(status=JobStatus.PENDING).exists(),
            timeout=240,
            what=f"every job done; second worker:\n{second.log()[-2000:]}",
        )

    assert 0 < done_when_killed < jobs  # it really died with work left
    assert not OutboxJob.objects.filter(status=JobStatus.FAILED).exists()
    # ...and none twice: a fact's mentions count one per source message
    counted_twice = Fact.objects.annotate(
        sources=Func(F("source_message_ids"), function="cardinality")
    ).exclude(mention_count=F("sources"))
    assert Fact.objects.count() > 600
    assert not counted_twice.exists(), list(counted_twice.values("text", "mention_count")[:5])
