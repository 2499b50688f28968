"""The model server dying mid-stream, hanging before its first token, and refusing
connections, under a real daphne: each chat ends with a clear answer, the user's message is
stored every time, and the usage record and background jobs follow."""

import time
from collections.abc import Callable

import httpx
import pytest

from billing.models import UsageRecord, UsageStatus
from memory.models import JobStatus, Message, OutboxJob, Role
from tenants.models import Vendor
from tests.fakes.openai_server import FakeOpenAI
from tests.faults.stack import ChatLoad, app_env, daphne, running, start_daphne, wait_until
from tests.infyn.servers import current_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def chat(base_url: str, key: str, content: str) -> tuple[int, str]:
    body = {"user": "alice", "stream": True, "messages": [{"role": "user", "content": content}]}
    headers = {"Authorization": f"Bearer {key}"}
    started = time.monotonic()
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert time.monotonic() - started < 15, "an answer, not a hang"
    return response.status_code, response.text


def test_a_failing_model_server_never_loses_the_users_message(
    vendor: Vendor, raw_key_for: Callable[..., str], upstream: FakeOpenAI
) -> None:
    key = raw_key_for(vendor)
    env = app_env(
        upstream=upstream,
        DATABASE_URL=current_database_url(),
        INFYN_LLM_TIMEOUT_SECONDS="2",
        INFYN_OUTBOX_SWEEP_AFTER_SECONDS="2",
    )
    web, base_url = daphne(env)
    with running(web):
        start_daphne(web, base_url)

        # dying mid-stream: the stream ends with an error event, the partial reply is kept
        upstream.drop_after = 3
        dropped = chat(base_url, key, "Tell me a long story about boats.")
        upstream.drop_after = None

        # hanging before the first token: 503 once the read timeout passes
        upstream.first_token_delay = 60
        hung = chat(base_url, key, "Are you there?")
        upstream.first_token_delay = 0

        # many chats at once while it answers every one with an error status
        upstream.status = 503
        load = ChatLoad(base_url, key, clients=4).start()
        time.sleep(3)
        erroring = load.stop()
        upstream.status = 200

        # and while it cuts every connection
        upstream.refuse = True
        load = ChatLoad(base_url, key, clients=4).start()
        time.sleep(3)
        refusing = load.stop()
        upstream.refuse = False

        # and once it answers again, so does infyn
        recovered = chat(base_url, key, "Back again.")
        wait_until(
            lambda: not OutboxJob.objects.filter(status=JobStatus.PENDING).exists(),
            timeout=60,
            what="every job done",
        )

    assert dropped[0] == 200
    assert '"code":"backend_unavailable"' in dropped[1]  # the stream's error event
    assert hung[0] == 503
    assert '"backend_unavailable"' in hung[1]
    assert erroring
    assert {(r.status, r.error_code) for r in erroring} == {(503, "backend_unavailable")}
    assert refusing
    assert {(r.status, r.error_code) for r in refusing} == {(503, "backend_unavailable")}
    assert recovered[0] == 200
    assert recovered[1].rstrip().endswith("data: [DONE]")
    # every message the user sent is stored, whatever the model server did
    sent = [
        "Tell me a long story about boats.",
        "Are you there?",
        *(r.content for r in erroring + refusing),
        "Back again.",
    ]
    stored = set(Message.objects.filter(role=Role.USER).values_list("content", flat=True))
    assert set(sent) <= stored
    assert Message.objects.filter(role=Role.ASSISTANT, content__startswith="Noted,").exists()
    records = UsageRecord.objects.all()
    assert records.count() == len(sent)
    assert records.filter(status=UsageStatus.OK).count() == 1
    assert not OutboxJob.objects.filter(status=JobStatus.FAILED).exists()
