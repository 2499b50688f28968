"""Django's Redis cache backend with one connection pool per process.

Django keeps a cache backend instance per thread and per async context, and each
``RedisCache`` instance builds its own redis-py connection pool. Under ASGI every request
runs in a context of its own, so every request opened a fresh TCP connection to Redis (with
redis-py's handshake) for its first cache call: about a millisecond and a half per request for
the rate limit alone, plus a connection left for the garbage collector. Here all instances
with the same server and options share one pool, which is thread-safe and re-creates its
connections after a fork.
"""

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()


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
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
