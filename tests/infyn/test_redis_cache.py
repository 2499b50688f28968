import asyncio

import redis
from asgiref.sync import sync_to_async
from django.core.cache import caches

from infyn.lib.redis_cache import OutageTolerantRedisCache


def _connections(url: str, name: str) -> int:
    client = redis.Redis.from_url(url)
    return sum(1 for entry in client.client_list() if entry.get("name") == name)


def test_cache_instances_share_one_connection_pool(redis_url: str) -> None:
    # given: what Django does per request under ASGI: a new backend instance each time
    name = "infyn-test-shared-pool"
    # django-redis keys its pools by URL, so the name goes in the URL: a pool of its own.
    location = f"{redis_url}?client_name={name}"
    instances = [OutageTolerantRedisCache(location, {}) for _ in range(25)]

    # when
    for index, cache in enumerate(instances):
        cache.set(f"shared-pool-{index}", index, timeout=30)

    # then: every instance reads what the others wrote, over one connection
    assert [cache.get(f"shared-pool-{i}") for i, cache in enumerate(instances)] == list(range(25))
    assert _connections(redis_url, name) == 1


def test_requests_in_their_own_async_contexts_reuse_connections(
    redis_url: str, settings: object
) -> None:
    name = "infyn-test-async-contexts"
    settings.CACHES = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "infyn.lib.redis_cache.OutageTolerantRedisCache",
            "LOCATION": f"{redis_url}?client_name={name}",
        }
    }

    async def one_request(index: int) -> None:
        # Each task has its own context, so Django hands it its own backend instance.
        await sync_to_async(caches["default"].set)(f"request-{index}", index, 30)

    async def requests() -> None:
        for index in range(20):
            await asyncio.create_task(one_request(index))

    asyncio.run(requests())

    assert _connections(redis_url, name) == 1
