"""Rate limits and the search cache, shared through real Redis the way replicas share them."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mcp_notes.notes.model import Owner
from mcp_notes.shared.limiter import MemoryRateLimiter, RedisRateLimiter
from mcp_notes.shared.search_cache import MemorySearchCache, RedisSearchCache


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


@pytest.mark.parametrize("kind", ["redis", "memory"])
async def test_search_cache_is_invalidated_by_a_write_for_that_owner_only(
    kind: str, redis: Redis, redis_prefix: str
) -> None:
    cache = RedisSearchCache(redis, 60, redis_prefix) if kind == "redis" else MemorySearchCache(60)
    alice, bob = Owner("alice"), Owner("bob")
    page = {"query": "postgres", "limit": 10}
    await cache.put(alice, page, ["hit"])
    await cache.put(bob, page, ["bob's hit"])
    assert await cache.get(alice, page) == ["hit"]
    assert await cache.get(alice, {**page, "limit": 5}) is None
    await cache.invalidate(alice)
    assert await cache.get(alice, page) is None
    assert await cache.get(bob, page) == ["bob's hit"]


async def test_a_write_on_one_replica_invalidates_the_others(redis: Redis, redis_prefix: str) -> None:
    replica_a = RedisSearchCache(redis, 60, redis_prefix)
    replica_b = RedisSearchCache(Redis.from_url("redis://127.0.0.1:6379/0"), 60, redis_prefix)
    owner, page = Owner("dora", tenant="t1"), {"query": "q"}
    await replica_a.put(owner, page, [1])
    assert await replica_b.get(owner, page) == [1]
    await replica_b.invalidate(owner)
    assert await replica_a.get(owner, page) is None
