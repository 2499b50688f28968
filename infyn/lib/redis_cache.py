"""Django's Redis cache backend with one connection pool per process, that survives outages.

One pool per process: Django keeps a cache backend instance per thread and per async
context, and each ``RedisCache`` instance builds its own redis-py connection pool. Under ASGI
every request runs in a context of its own, so every request opened a fresh TCP connection to
Redis (with redis-py's handshake) for its first cache call: about a millisecond and a half per
request for the rate limit alone, plus a connection left for the garbage collector. Here all
instances with the same server and options share one pool, which is thread-safe and
re-creates its connections after a fork.

Outages: Redis is an accelerator here, never a single point of failure. When it cannot be
reached, a read is a miss, a write is skipped, and for the next few seconds no call even
tries (each would otherwise wait for a connection attempt to fail). Everything
cached can be recomputed from the database; the rate limiter counts in the process instead
(``tenants.throttling``).
"""

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infyn.lib.outage import OutageWindow

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()

# The errors that mean "Redis is not there" (refused, unreachable, loading, too slow), as
# opposed to a bad command, which is a bug and raises.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError)

# After a failure, the cache leaves Redis alone this long before it tries again.
redis_outage = OutageWindow("redis cache", retry_after=5.0)

_T = TypeVar("_T")


def outage_tolerant(call: Callable[[], _T], fallback: _T) -> _T:
    """``call()``, or ``fallback`` when Redis is down (now, or failed a moment ago)."""
    if redis_outage.active():
        return fallback
    try:
        return call()
    except OUTAGE_ERRORS as error:
        redis_outage.begin(error)
        return fallback


class SharedPoolRedisCacheClient(RedisCacheClient):
    # Django's client keeps its settings in private attributes that django-stubs leaves out.
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]
    _get_connection_pool_index: Callable[[bool], int]

    def _get_connection_pool(self, write: bool) -> Any:
        server = self._servers[self._get_connection_pool_index(write)]
        key = (server, repr(sorted(self._pool_options.items(), key=lambda item: item[0])))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = self._pool_class.from_url(server, **self._pool_options)
                    _pools[key] = pool
        return pool


class SharedPoolRedisCache(RedisCache):
    """Reads miss and writes are skipped while Redis is unreachable (see the module's notes).

    ``incr`` is left as Django has it (it raises): a counter that silently stays at zero
    would be worse than an error, and the one counter here (the rate limit) has a fallback.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return outage_tolerant(lambda: RedisCache.get(self, key, default, version), default)

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return outage_tolerant(lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key: str, version: int | None = None) -> bool:
        return outage_tolerant(lambda: RedisCache.has_key(self, key, version), False)

    def add(
        self,
        key: str,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return outage_tolerant(lambda: RedisCache.add(self, key, value, timeout, version), False)

    def set(
        self,
        key: str,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        outage_tolerant(lambda: RedisCache.set(self, key, value, timeout, version), None)

    def set_many(
        self,
        data: dict[str, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[str]:
        return outage_tolerant(
            lambda: RedisCache.set_many(self, data, timeout, version), list(data)
        )

    def touch(
        self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return outage_tolerant(lambda: RedisCache.touch(self, key, timeout, version), False)

    def delete(self, key: str, version: int | None = None) -> bool:
        return outage_tolerant(lambda: RedisCache.delete(self, key, version), False)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        outage_tolerant(lambda: RedisCache.delete_many(self, keys, version), None)
