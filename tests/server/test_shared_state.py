"""Rate limits and the search cache, shared through real Redis the way replicas share them."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mcp_notes.notes.model import Owner
from mcp_notes.shared.limiter import MemoryRateLimiter, RedisRateLimiter
from mcp_notes.shared.search_cache import MemorySearchCache, RedisSearchCache, SearchCache


async def test_redis_limiter_allows_the_budget_then_refuses_with_retry_after(
    redis: Redis, redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(redis, limit_per_minute=5, prefix=redis_prefix)
    decisions = [await limiter.hit("alice") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert 1 <= decisions[-1].retry_after_seconds <= 12  # one slot refills every 12 s
    assert (await limiter.hit("bob")).allowed  # budgets are per subject


async def test_two_limiters_on_one_redis_share_one_budget(redis: Redis, redis_prefix: str) -> None:
    replica_a = RedisRateLimiter(redis, limit_per_minute=4, prefix=redis_prefix)
    replica_b = RedisRateLimiter(Redis.from_url("redis://127.0.0.1:6379/0"), 4, prefix=redis_prefix)
    allowed = [(await (replica_a if i % 2 else replica_b).hit("carol")).allowed for i in range(6)]
    assert allowed == [True, True, True, True, False, False]


async def test_memory_limiter_behaves_the_same() -> None:
    limiter = MemoryRateLimiter(limit_per_minute=3)
    assert [(await limiter.hit("x")).allowed for _ in range(4)] == [True, True, True, False]
    assert (await limiter.hit("x")).retry_after_seconds == 20


def make_cache(kind: str, redis: Redis, prefix: str) -> SearchCache:
    return RedisSearchCache(redis, 60, prefix) if kind == "redis" else MemorySearchCache(60)


async def cached(cache: SearchCache, owner: Owner, page: dict) -> object:
    """What a search would find in the cache now."""
    return await cache.get(owner, await cache.generation(owner), page)


async def store(cache: SearchCache, owner: Owner, page: dict, value: object) -> None:
    await cache.put(owner, await cache.generation(owner), page, value)


@pytest.mark.parametrize("kind", ["redis", "memory"])
async def test_search_cache_is_invalidated_by_a_write_for_that_owner_only(
    kind: str, redis: Redis, redis_prefix: str
) -> None:
    cache = make_cache(kind, redis, redis_prefix)
    alice, bob = Owner("alice"), Owner("bob")
    page = {"query": "postgres", "limit": 10}
    await store(cache, alice, page, ["hit"])
    await store(cache, bob, page, ["bob's hit"])
    assert await cached(cache, alice, page) == ["hit"]
    assert await cached(cache, alice, {**page, "limit": 5}) is None
    await cache.invalidate(alice)
    assert await cached(cache, alice, page) is None
    assert await cached(cache, bob, page) == ["bob's hit"]


@pytest.mark.parametrize("kind", ["redis", "memory"])
async def test_a_write_during_a_search_never_leaves_a_stale_page(
    kind: str, redis: Redis, redis_prefix: str
) -> None:
    cache = make_cache(kind, redis, redis_prefix)
    owner, page = Owner("racer"), {"query": "q"}
    before_query = await cache.generation(owner)  # the search starts
    await cache.invalidate(owner)  # a write lands while the query runs
    await cache.put(owner, before_query, page, ["stale"])  # the search stores what it read
    assert await cached(cache, owner, page) is None  # the next search does not see it


async def test_a_write_on_one_replica_invalidates_the_others(redis: Redis, redis_prefix: str) -> None:
    replica_a = RedisSearchCache(redis, 60, redis_prefix)
    replica_b = RedisSearchCache(Redis.from_url("redis://127.0.0.1:6379/0"), 60, redis_prefix)
    owner, page = Owner("dora", tenant="t1"), {"query": "q"}
    await store(replica_a, owner, page, [1])
    assert await cached(replica_b, owner, page) == [1]
    await replica_b.invalidate(owner)
    assert await cached(replica_a, owner, page) is None
