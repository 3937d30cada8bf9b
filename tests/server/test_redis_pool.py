"""The Redis connection pool: more concurrent operations than connections wait their turn
(briefly) instead of failing, and a pool that stays busy skips Redis without calling it down."""

from __future__ import annotations

import asyncio

import pytest

from mcp_notes.settings import Settings, SettingsError, load_settings
from mcp_notes.shared.health import DependencyHealth
from mcp_notes.shared.redis_link import RedisLink, RedisUnavailable, open_redis
from tests.server.conftest import REDIS


def _link(**env: str) -> RedisLink:
    settings = Settings.model_validate({"REDIS_URL": REDIS, **env})
    return RedisLink(open_redis(settings), settings, DependencyHealth("redis"))


async def test_more_operations_than_connections_wait_for_one(redis_prefix: str) -> None:
    link = _link(REDIS_POOL_SIZE="4", REDIS_POOL_TIMEOUT_SECONDS="2")
    try:
        key = f"{redis_prefix}counter"
        await asyncio.gather(*(link.run(lambda: link.redis.incr(key)) for _ in range(200)))
        assert await link.redis.get(key) == b"200"
        assert link.up
    finally:
        await link.close()


async def test_a_pool_that_stays_busy_skips_redis_without_calling_it_down(redis_prefix: str) -> None:
    link = _link(REDIS_POOL_SIZE="1", REDIS_POOL_TIMEOUT_SECONDS="0.05", REDIS_TIMEOUT_SECONDS="2")
    try:
        # The one connection blocks in Redis for 0.5 s (a busy pool, a healthy Redis).
        busy = asyncio.ensure_future(
            link.run(lambda: link.redis.blpop([f"{redis_prefix}nothing"], timeout=0.5))
        )
        await asyncio.sleep(0.1)
        with pytest.raises(RedisUnavailable):
            await link.run(lambda: link.redis.get(f"{redis_prefix}x"))
        assert link.up
        assert await busy is None
    finally:
        await link.close()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("REDIS_POOL_SIZE", "0"), ("REDIS_POOL_TIMEOUT_SECONDS", "60"), ("REDIS_TIMEOUT_SECONDS", "30")],
)
def test_pool_and_timeout_settings_are_bounded(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value}, serving=False)
