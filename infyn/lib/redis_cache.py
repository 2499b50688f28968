"""The Redis cache: django-redis (one connection pool per process), tolerant of outages.

django-redis keeps its connection pools in a process-wide registry, so the backend
instances Django makes per thread and per async context (under ASGI, per request) share one
pool instead of each opening its own TCP connection to Redis.

Outages: Redis is an accelerator here, never a single point of failure. When it cannot be
reached, a read is a miss, a write is skipped, and for the next few seconds no call even
tries (each would otherwise wait for a connection attempt to fail). Everything
cached can be recomputed from the database; the rate limiter counts in the process instead
(``tenants.throttling``). django-redis's own ``IGNORE_EXCEPTIONS`` is not used: it would
still try Redis on every call, and it hides a bad command as well as an outage.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django_redis import get_redis_connection
from django_redis.cache import RedisCache
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infyn.lib.outage import OutageWindow

# The errors that mean "Redis is not there" (refused, unreachable, loading, too slow), as
# opposed to a bad command, which is a bug and raises. django-redis re-raises the original
# redis-py error when IGNORE_EXCEPTIONS is off.
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


def redis_client(alias: str = "default") -> "Redis[bytes]":
    """The redis-py client behind the cache ``alias``, for commands the cache API lacks."""
    client: Redis[bytes] = get_redis_connection(alias, write=True)
    return client


class OutageTolerantRedisCache(RedisCache):  # type: ignore[misc]  # django-redis is untyped
    """Reads miss and writes are skipped while Redis is unreachable (see the module's notes).

    ``incr`` is left as django-redis has it (it raises): a counter that silently stays at
    zero would be worse than an error, and the one counter here (the rate limit) has a
    fallback.
    """

    def get(
        self, key: Any, default: Any = None, version: int | None = None, client: Any = None
    ) -> Any:
        return outage_tolerant(lambda: RedisCache.get(self, key, default, version), default)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return outage_tolerant(lambda: RedisCache.get_many(self, keys, version=version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return outage_tolerant(lambda: bool(RedisCache.has_key(self, key, version=version)), False)

    def add(
        self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return outage_tolerant(
            lambda: bool(RedisCache.add(self, key, value, timeout=timeout, version=version)),
            False,
        )

    def set(
        self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        outage_tolerant(
            lambda: RedisCache.set(self, key, value, timeout=timeout, version=version), None
        )

    def set_many(
        self, data: dict[Any, Any], timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        def write() -> list[Any]:
            RedisCache.set_many(self, data, timeout=timeout, version=version)
            return []  # the keys that could not be stored: none

        return outage_tolerant(write, list(data))

    def touch(self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return outage_tolerant(
            lambda: bool(RedisCache.touch(self, key, timeout=timeout, version=version)), False
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return outage_tolerant(lambda: bool(RedisCache.delete(self, key, version=version)), False)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        outage_tolerant(lambda: RedisCache.delete_many(self, keys, version=version), None)
