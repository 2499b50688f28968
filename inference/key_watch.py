"""Open widget connections end within seconds of their API key's revocation.

A widget token is checked once, when its websocket connects; the connection may then stay
open for hours. Each process keeps the keys behind its open connections and, every
INFYN_WS_REVOCATION_CHECK_SECONDS, asks the database in one query which of them are still
active; the connections of any other key are told so and closed (4401). The watch runs only
while there are connections to watch, on the event loop that serves them.
"""

import asyncio
import logging
from typing import Protocol
from uuid import UUID

from channels.db import database_sync_to_async
from django.conf import settings

from tenants.selectors import api_keys_active

logger = logging.getLogger(__name__)


class Watched(Protocol):
    async def key_revoked(self) -> None: ...


_watched: dict[UUID, set[Watched]] = {}
_task: "asyncio.Task[None] | None" = None


def watch(key_id: UUID, connection: Watched) -> None:
    """Close ``connection`` (through its ``key_revoked``) once ``key_id`` is revoked."""
    global _task
    _watched.setdefault(key_id, set()).add(connection)
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _task = loop.create_task(_check_until_idle(), name="infyn-key-watch")


def unwatch(key_id: UUID, connection: Watched) -> None:
    connections = _watched.get(key_id)
    if connections is not None:
        connections.discard(connection)
        if not connections:
            del _watched[key_id]


async def _check_until_idle() -> None:
    while _watched:
        await asyncio.sleep(settings.WS_REVOCATION_CHECK_SECONDS)
        keys = list(_watched)
        if not keys:
            return
        try:
            active = await database_sync_to_async(api_keys_active, thread_sensitive=False)(
                key_ids=keys
            )
        except Exception:  # the database is down: check again next time, close nothing
            logger.warning("websocket: could not check for revoked keys", exc_info=True)
            continue
        for key_id in keys:
            if key_id in active:
                continue
            for connection in list(_watched.pop(key_id, ())):
                try:
                    await connection.key_revoked()
                except Exception:
                    logger.exception("websocket: closing a revoked key's connection failed")
