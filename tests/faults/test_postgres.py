"""PostgreSQL stopped (immediate shutdown, as in a crash) under chat load, then started again.

While it is down, chats answer 503 `database_unavailable` quickly (never 500, never a hang);
every chat answered 200 before, during or after is stored in full; the server recovers by
itself; and the background jobs that failed while it was down are done once it is back.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.faults.stack import (
    ChatLoad,
    PrivatePostgres,
    answered,
    app_env,
    daphne,
    running,
    start_daphne,
    wait_until,
)
from tests.infyn.servers import ROOT


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    yield server
    server.stop()


def api_key(postgres: PrivatePostgres) -> str:
    """A vendor and its key in the private server, made as an operator would."""
    created = subprocess.run(
        [sys.executable, "manage.py", "create_vendor", "Faults", "--json"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": postgres.url},
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(created.stdout)["api_key"])


def test_postgres_restarted_under_load_loses_no_answered_chat(
    postgres: PrivatePostgres, upstream: FakeOpenAI
) -> None:
    env = app_env(
        upstream=upstream,
        DATABASE_URL=postgres.url,
        DATABASE_POOL_TIMEOUT="2",
        INFYN_OUTBOX_SWEEP_AFTER_SECONDS="2",
    )
    web, base_url = daphne(env)
    with running(web):
        start_daphne(web, base_url)
        key = api_key(postgres)
        load = ChatLoad(base_url, key).start()
        time.sleep(3)

        # when PostgreSQL goes down under load
        postgres.stop()
        down_at = len(load.results)
        time.sleep(3)
        health = httpx.get(f"{base_url}/healthz", timeout=30)
        # and comes back
        postgres.start()
        back_at = len(load.results)
        time.sleep(5)
        results = load.stop()

        # then the jobs that failed meanwhile are done once it is back
        def all_done() -> bool:
            return not postgres.query("SELECT 1 FROM memory_outboxjob WHERE status <> 'done'")

        wait_until(all_done, timeout=60, what=f"every job done; daphne:\n{web.log()[-3000:]}")

    # a chat is answered, or refused with 503 at once, or (its reply streamed as the database
    # went down) ends with an error event saying the reply was not stored
    statuses = {(r.status, r.error_code) for r in results}
    allowed = {(200, None), (503, "database_unavailable"), (200, "database_unavailable")}
    assert statuses <= allowed, statuses
    assert [r for r in results if r.transport_error] == []
    assert (503, "database_unavailable") in {
        (r.status, r.error_code) for r in results[down_at:back_at]
    }
    assert health.status_code == 503
    assert health.json()["database"] == "unavailable"
    # the server recovered by itself: the last chats of every client were answered
    for client in {r.user for r in results}:
        last = [r for r in results if r.user == client][-2]
        assert last.status == 200, last
    # and every chat answered in full is stored in full
    for result in answered(results):
        rows = postgres.query(
            "SELECT role, content FROM memory_message WHERE id IN (%s, %s) ORDER BY id",
            (result.user_message_id, result.assistant_message_id),
        )
        assert rows[0] == ("user", result.content), result
        assert rows[1][0] == "assistant"
    assert len(answered(results)) >= 8
