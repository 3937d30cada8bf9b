"""The shared-state objects the app builds from its settings once the runtime is open."""

from __future__ import annotations

from typing import Any

from mcp_notes.runtime import Runtime
from mcp_notes.settings import Settings
from mcp_notes.shared.limiter import MemoryRateLimiter, RateLimiter, RedisRateLimiter


class LazyLimiter:
    """The limiter needs Redis, which opens in the lifespan; the middleware is built before."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self._settings = settings
        self._runtime = runtime
        self._limiter: RateLimiter | None = None

    async def hit(self, subject: str) -> Any:
        if self._limiter is None:
            budget = self._settings.rate_limit_per_minute
            redis = self._runtime.redis
            prefix = f"{self._settings.redis_key_prefix}rl:"
            self._limiter = (
                RedisRateLimiter(redis, budget, prefix) if redis is not None else MemoryRateLimiter(budget)
            )
        return await self._limiter.hit(subject)
