"""Requests per API key: a fixed-window counter in the shared cache (Redis in production).

DRF's own throttle keeps every request's timestamp in one cache value and rewrites it on
each request (two round trips, and a value that grows with the rate). A counter per key and
window costs one round trip on Redis (INCR and EXPIRE, pipelined) and nothing on the
in-memory cache. As with any fixed window, a client may send up to twice the rate across a
window boundary. While Redis is unreachable, each process keeps its own counters.
"""

import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from infyn.lib.redis_cache import OutageTolerantRedisCache, outage_tolerant, redis_client
from tenants.authentication import ApiKeyPrincipal

if TYPE_CHECKING:  # DRF imports these classes while importing APIView itself
    from rest_framework.views import APIView


class ApiKeyRateThrottle(SimpleRateThrottle):
    """``INFYN_API_RATE_LIMIT`` per API key, in DRF's rate syntax (parsed by DRF)."""

    _wait = 0.0

    def get_rate(self) -> str:
        # Read per request (DRF builds a throttle per request), not once at import as DRF's
        # THROTTLE_RATES are, so settings overrides apply.
        rate: str = settings.API_RATE_LIMIT
        return rate

    def allow_request(self, request: Request, view: "APIView") -> bool:
        principal = request.user
        if not isinstance(principal, ApiKeyPrincipal):
            return True  # unauthenticated requests are refused before they count
        limit, window = self.num_requests, self.duration
        assert limit is not None  # get_rate() never gives None
        assert window is not None
        now = time.time()
        window_start = int(now // window) * window
        count = _increment(
            f"throttle:api_key:{principal.api_key.pk}:{window_start}", timeout=window + 1
        )
        self._wait = 0.0 if count <= limit else window_start + window - now
        return count <= limit

    def wait(self) -> float | None:
        return self._wait


def _increment(key: str, *, timeout: int) -> int:
    """Add one to the counter at ``key`` (created with ``timeout``) and return it."""
    cache = caches["default"]
    if isinstance(cache, OutageTolerantRedisCache):
        full_key = cache.make_and_validate_key(key)
        count = outage_tolerant(lambda: _redis_increment(full_key, timeout), None)
        if count is not None:
            return count
        # Redis is unreachable: each process counts on its own until it is back, so a key
        # may send up to the limit to every process meanwhile (documented), and never 500s.
        cache = _process_counters
    if cache.add(key, 1, timeout=timeout):
        return 1
    return int(cache.incr(key))


def _redis_increment(full_key: str, timeout: int) -> int:
    pipeline = redis_client().pipeline(transaction=False)
    pipeline.incr(full_key)
    pipeline.expire(full_key, timeout, nx=True)
    count, _expiry_set = pipeline.execute()
    return int(count)


# This process's counters while Redis is down: Django's in-memory cache, which expires them.
_process_counters = LocMemCache("infyn-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
