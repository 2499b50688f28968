"""Liveness of the components a request depends on, for load balancers and operators."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

OK = "ok"
DEGRADED = "degraded"
UNAVAILABLE = "unavailable"


def database_status() -> dict[str, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health: database unavailable: %s", exc)
        return {"database": UNAVAILABLE}
    return {"database": OK, "pgvector": row[0] if row else "missing"}


def cache_status() -> str:
    try:
        cache.set("healthz", OK, timeout=10)
        return OK if cache.get("healthz") == OK else UNAVAILABLE
    except Exception as exc:  # any backend error means the cache is not usable
        logger.warning("health: cache unavailable: %s", exc)
        return UNAVAILABLE


def channel_layer_status() -> str:
    layer = get_channel_layer()
    if layer is None:
        return UNAVAILABLE

    async def round_trip() -> bool:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        message = await layer.receive(channel)
        return bool(message.get("type") == "health.ping")

    try:
        return OK if async_to_sync(round_trip)() else UNAVAILABLE
    except Exception as exc:  # a Redis outage surfaces as many different errors
        logger.warning("health: channel layer unavailable: %s", exc)
        return UNAVAILABLE


def broker_status() -> str:
    if not settings.REDIS_URL:
        return "in-process"
    from infyn.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        logger.warning("health: broker unavailable: %s", exc)
        return UNAVAILABLE
    return OK


def health_report() -> dict[str, Any]:
    """Each component's state, and the overall status: ``ok``; ``degraded`` when only Redis
    (cache, channel layer, broker) is down, in which case chats still store every message
    and answer, and background jobs wait in the outbox; ``unavailable`` without the database."""
    report: dict[str, Any] = {
        **database_status(),
        "cache": cache_status(),
        "channel_layer": channel_layer_status(),
        "broker": broker_status(),
    }
    if report["database"] != OK or report["pgvector"] == "missing":
        overall = UNAVAILABLE
    elif UNAVAILABLE in report.values():
        overall = DEGRADED
    else:
        overall = OK
    return {"status": overall, **report}


_STATES = [OK, UNAVAILABLE]


class HealthSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=[OK, DEGRADED, UNAVAILABLE])
    database = serializers.ChoiceField(choices=_STATES)
    pgvector = serializers.CharField(required=False, help_text='Its version, or "missing"')
    cache = serializers.ChoiceField(choices=_STATES)
    channel_layer = serializers.ChoiceField(choices=_STATES)
    broker = serializers.ChoiceField(choices=[*_STATES, "in-process"])


class HealthApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        responses={
            200: OpenApiResponse(HealthSerializer, description="`ok`, or `degraded`: Redis down"),
            503: OpenApiResponse(HealthSerializer, description="`unavailable`: no database"),
        },
        summary="Health of the database, cache, channel layer and broker",
    )
    def get(self, request: Request) -> Response:
        report = health_report()
        # Degraded still serves: a load balancer must keep sending traffic here.
        return Response(report, status=503 if report["status"] == UNAVAILABLE else 200)
