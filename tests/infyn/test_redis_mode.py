"""With REDIS_URL set, the channel layer, cache and Celery all go through Redis."""

import json
import os
import subprocess
import sys

import redis

from tests.infyn.servers import ROOT, current_database_url

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from celery.contrib.testing import tasks  # registers celery.ping
from celery.contrib.testing.worker import start_worker
from infyn.celery import app
from infyn.lib.health import health_report

report = health_report()
# A real worker thread: a task goes through the Redis broker and its result comes back.
with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=20):
    pong = tasks.ping.delay().get(timeout=20)
print(json.dumps({
    "report": report,
    "pong": pong,
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
}))
"""


def test_redis_url_moves_channel_layer_cache_and_celery_to_redis(redis_url: str, db: None) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **os.environ,
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "infyn.settings",
            "DATABASE_URL": current_database_url(),  # migrated, so pgvector is there
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["channel_layer"] == "channels_redis.core.RedisChannelLayer"
    assert probe["cache"] == "infyn.lib.redis_cache.OutageTolerantRedisCache"
    assert probe["eager"] is False
    assert probe["pong"] == "pong"
    assert probe["report"]["status"] == "ok"
    assert probe["report"]["cache"] == probe["report"]["channel_layer"] == "ok"
    assert probe["report"]["broker"] == "ok"
    # the health check's cache write really landed in Redis
    keys = redis.Redis.from_url(redis_url).keys("*healthz*")
    assert keys


def test_redis_down_makes_health_degraded_not_unavailable(db: None) -> None:
    # Chats go on without Redis, so a load balancer must keep sending traffic: 200, degraded.
    probe = "import json, django; django.setup(); from infyn.lib.health import health_report; "
    probe += "print(json.dumps(health_report()))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={
            **os.environ,
            "REDIS_URL": "redis://127.0.0.1:9/0",
            "DJANGO_SETTINGS_MODULE": "infyn.settings",
            "DATABASE_URL": current_database_url(),
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == "degraded"
    assert report["database"] == "ok"
    assert report["cache"] == "unavailable"
    assert report["broker"] == "unavailable"
