"""Redis killed in the middle of chats, and brought back empty (no persistence), under load.

Chats go on while it is down (Redis is the cache, the rate limiter's store, the channel layer
and the broker, and each has its fallback), and every background job is done once it is back:
those the broker never took, and those it lost in the restart.
"""

import time
from collections.abc import Callable

import httpx
import pytest

from memory.models import JobStatus, Message, OutboxJob, Role
from tenants.models import Vendor
from tests.fakes.openai_server import FakeOpenAI
from tests.faults.stack import (
    ChatLoad,
    RedisServer,
    answered,
    app_env,
    celery_worker,
    daphne,
    running,
    start_daphne,
    wait_until,
)
from tests.infyn.servers import current_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_redis_killed_mid_chat_and_restarted_empty_loses_no_message_and_no_job(
    vendor: Vendor, raw_key_for: Callable[..., str], upstream: FakeOpenAI
) -> None:
    key = raw_key_for(vendor)
    redis_server = RedisServer()
    env = app_env(
        upstream=upstream,
        DATABASE_URL=current_database_url(),
        REDIS_URL=redis_server.url,
        INFYN_OUTBOX_SWEEP_AFTER_SECONDS="5",
    )
    web, base_url = daphne(env)
    worker = celery_worker(env)
    with running(redis_server, web, worker):
        redis_server.start()
        start_daphne(web, base_url)
        worker.start()
        load = ChatLoad(base_url, key).start()
        time.sleep(3)

        # when Redis dies mid-chat
        redis_server.kill()
        before = len(load.results)
        time.sleep(5)
        health = httpx.get(f"{base_url}/healthz", timeout=30)
        during = len(load.results) - before
        # and comes back empty
        redis_server.start()
        time.sleep(3)
        results = load.stop()

        # then every job is done soon after, the lost ones included
        def all_done() -> bool:
            return not OutboxJob.objects.filter(status=JobStatus.PENDING).exists()

        wait_until(
            all_done, timeout=90, what=f"every job done; worker log:\n{worker.log()[-3000:]}"
        )

    problems = [r for r in results if r not in answered(results)]
    assert not problems, problems[:5]  # every chat answered in full, during the outage too
    assert during >= 4, "chats went on while Redis was down"
    for result in results:
        assert Message.objects.filter(
            pk=result.user_message_id, role=Role.USER, content=result.content
        ).exists(), result
        assert Message.objects.filter(pk=result.assistant_message_id, role=Role.ASSISTANT).exists()
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["cache"] == "unavailable"
    assert not OutboxJob.objects.filter(status=JobStatus.FAILED).exists()
    assert OutboxJob.objects.filter(status=JobStatus.DONE).count() >= len(results)
