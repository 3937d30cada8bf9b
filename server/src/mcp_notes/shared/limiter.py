"""Per-subject request budgets by GCRA (generic cell rate algorithm): `limit` requests per
minute with bursts up to `limit`, smooth refill, one key per subject."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

PERIOD_MS = 60_000

# Runs atomically in Redis and reads Redis's clock, so replicas with skewed clocks agree.
GCRA_LUA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, tat - now - tolerance}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return {1, 0}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int  # 0 when allowed; whole seconds for the Retry-After header


class RateLimiter(Protocol):
    async def hit(self, subject: str) -> Decision: ...


def _gcra(limit: int) -> tuple[float, float]:
    interval = PERIOD_MS / limit
    return interval, PERIOD_MS - interval  # tolerance lets a full budget burst at once


class RedisRateLimiter:
    def __init__(self, redis: Redis, limit_per_minute: int, prefix: str) -> None:
        self._redis = redis
        self._interval, self._tolerance = _gcra(limit_per_minute)
        self._prefix = prefix
        self._script = redis.register_script(GCRA_LUA)

    async def hit(self, subject: str) -> Decision:
        allowed, wait_ms = await self._script(
            keys=[self._prefix + subject], args=[self._interval, self._tolerance]
        )
        return Decision(bool(allowed), math.ceil(int(wait_ms) / 1000) if not allowed else 0)


class MemoryRateLimiter:
    def __init__(self, limit_per_minute: int) -> None:
        self._interval, self._tolerance = _gcra(limit_per_minute)
        self._tat: dict[str, float] = {}

    async def hit(self, subject: str) -> Decision:
        now = time.monotonic() * 1000
        tat = max(self._tat.get(subject, now), now)
        if tat - now > self._tolerance:
            return Decision(False, math.ceil((tat - now - self._tolerance) / 1000))
        self._tat[subject] = tat + self._interval
        if len(self._tat) > 100_000:  # forget subjects whose budget has fully refilled
            self._tat = {key: value for key, value in self._tat.items() if value > now}
        return Decision(True, 0)
