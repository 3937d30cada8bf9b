"""The shared-state objects one replica builds from its settings: the rate limiter and the
search cache, shared through Redis when REDIS_URL is set, in-process otherwise (one replica on
a laptop). The limiter exists before Redis opens (the middleware is built first) and starts
sharing once it does."""

from __future__ import annotations

from redis.asyncio import Redis

from mcp_notes.settings import Settings
from mcp_notes.shared.health import DependencyHealth
from mcp_notes.shared.limiter import GcraLimiter
from mcp_notes.shared.redis_link import RedisLink, open_redis
from mcp_notes.shared.search_cache import MemorySearchCache, RedisSearchCache, SearchCache


class SharedState:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.limiter = GcraLimiter(settings.rate_limit_per_minute, settings.redis_sync_seconds)
        self.cache: SearchCache = MemorySearchCache(settings.search_cache_seconds)
        self.redis_health = DependencyHealth("redis") if settings.redis_url is not None else None
        self._link: RedisLink | None = None

    @property
    def redis(self) -> Redis | None:
        return self._link.redis if self._link is not None else None

    async def open(self) -> None:
        s = self._settings
        if self.redis_health is None:
            return
        self._link = RedisLink(open_redis(s), s, self.redis_health)
        await self._link.check()  # down at start is a warning and a fallback, not a failed start
        self.cache = RedisSearchCache(self._link, s.search_cache_seconds, f"{s.redis_key_prefix}sc:")
        self.limiter.share(self._link, f"{s.redis_key_prefix}rl:")

    async def close(self) -> None:
        await self.limiter.close()
        if self._link is not None:
            await self._link.close()
