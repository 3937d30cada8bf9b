"""Per-subject request budgets by GCRA (generic cell rate algorithm): `limit` requests per
minute with bursts up to `limit`, smooth refill, one budget per subject.

Cheap: every decision is made on this replica, from a dict and a clock, with no I/O. Replicas
share each subject's budget through Redis by syncing every Δ (REDIS_SYNC_SECONDS): in one
pipelined call a replica charges each subject it admitted since its last sync with how many it
admitted, and reads back how far that subject's shared budget is spent, which becomes its local
state. A subject this replica has not synced within 2Δ (one not busy here) is read from Redis
before the decision: one round trip, for that request only.

Accuracy, with R replicas and sync interval Δ:
- A replica decides on a view of the shared budget at most 2Δ old (plus a round trip), and its
  own admissions reach Redis at most Δ after it makes them. So a subject can exceed its budget
  by at most what the other R-1 replicas admit for it in 3Δ, which they could not see. At most a
  full budget each: a fresh burst landing on every replica at once may get R x the budget.
- Overshoot is charged like any admission, so afterwards every replica refuses until the
  shared budget has refilled: over any longer window the rate is the limit, not a multiple.
- A sync charges admissions at its own time, up to Δ after they happened: stricter, never looser.
- While Redis is down each replica keeps its own budget (up to R x the limit in total), and
  what it admits then is never charged to the shared budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from mcp_notes.shared.redis_link import RedisLink, RedisUnavailable

log = logging.getLogger(__name__)

PERIOD_MS = 60_000
SWEEP_AT = 100_000  # subjects remembered before the ones with a full budget are forgotten
SCRIPT_KEYS = 1_000  # subjects per script call, so one sync never blocks Redis for long

# Charges each key with its count (0: only reads) and returns, per key, how many ms ahead of
# now its budget is spent. Redis's clock, so replicas with skewed clocks agree. PX takes whole
# milliseconds, whatever the interval (60000 / 7 is not an integer); the reply is a string, as
# Redis would cut a Lua number to an integer, and a reply rounded up made a replica refuse the
# last request of a full budget spent within a millisecond or so.
EXCHANGE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local spent = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or '0') or 0
  if tat < now then tat = now end
  local count = tonumber(ARGV[i + 1])
  if count > 0 then
    tat = tat + count * interval
    redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
  end
  spent[i] = string.format('%.3f', tat - now)
end
return spent
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int  # 0 when allowed; whole seconds for the Retry-After header


class RateLimiter(Protocol):
    async def hit(self, subject: str) -> Decision: ...


def _now_ms() -> float:
    return time.monotonic() * 1000


class GcraLimiter:
    def __init__(self, limit_per_minute: int, sync_seconds: float = 0.1) -> None:
        self._interval = PERIOD_MS / limit_per_minute
        self._tolerance = PERIOD_MS - self._interval  # lets a full budget burst at once
        self._sync_seconds = sync_seconds
        self._fresh_ms = 2000 * sync_seconds
        self._tat: dict[str, float] = {}  # when each subject's budget is fully refilled (local ms)
        self._pulled_at: dict[str, float] = {}  # when each subject's shared state was last read
        self._unsynced: dict[str, int] = {}  # admitted here, not yet charged in Redis
        self._sweep_at = SWEEP_AT
        self._link: RedisLink | None = None
        self._script: Any = None
        self._prefix = ""
        self._task: asyncio.Task[None] | None = None

    def share(self, link: RedisLink, prefix: str) -> None:
        """From now on, share budgets with every replica on this Redis under `prefix`."""
        self._link, self._prefix = link, prefix
        self._script = link.redis.register_script(EXCHANGE_LUA)
        self._task = asyncio.get_running_loop().create_task(self._sync_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def hit(self, subject: str) -> Decision:
        link = self._link
        if link is not None and link.up:
            pulled = self._pulled_at.get(subject)
            if pulled is None or _now_ms() - pulled > self._fresh_ms:
                with contextlib.suppress(RedisUnavailable):  # then decide on what we know
                    self._apply(await self._exchange({subject: 0}))
        return self._decide(subject, _now_ms())

    async def sync(self) -> None:
        """Charge what was admitted here since the last sync; read those subjects back."""
        if self._link is None or not self._link.up or not self._unsynced:
            return
        batch, self._unsynced = self._unsynced, {}
        try:
            self._apply(await self._exchange(batch))
        except RedisUnavailable:
            if self._link.up:  # only the pool was busy: charge it next time
                for subject, count in batch.items():
                    self._unsynced[subject] = self._unsynced.get(subject, 0) + count
            # else Redis went down: what was admitted meanwhile is never charged (see above)

    def _decide(self, subject: str, now: float) -> Decision:
        tat = max(self._tat.get(subject, now), now)
        if tat - now > self._tolerance:
            return Decision(False, max(1, math.ceil((tat - now - self._tolerance) / 1000)))
        self._tat[subject] = tat + self._interval
        if self._link is not None and self._link.up:
            self._unsynced[subject] = self._unsynced.get(subject, 0) + 1
        if len(self._tat) > self._sweep_at:
            self._sweep(now)
        return Decision(True, 0)

    def _apply(self, spent: dict[str, float]) -> None:
        """The shared state, plus what this replica admitted since it was sent, becomes the
        local state; never lower than the local one, which may hold charges still in flight."""
        now = _now_ms()
        for subject, ahead in spent.items():
            view = now + ahead + self._unsynced.get(subject, 0) * self._interval
            if view > self._tat.get(subject, 0.0):
                self._tat[subject] = view
            self._pulled_at[subject] = now

    async def _exchange(self, counts: dict[str, int]) -> dict[str, float]:
        assert self._link is not None
        redis, subjects = self._link.redis, list(counts)
        chunks = [subjects[i : i + SCRIPT_KEYS] for i in range(0, len(subjects), SCRIPT_KEYS)]

        async def call() -> list[Any]:
            if len(chunks) == 1:
                return await self._run_script(chunks[0], counts, None)
            async with redis.pipeline(transaction=False) as pipe:
                for chunk in chunks:
                    await self._run_script(chunk, counts, pipe)
                return [ahead for replies in await pipe.execute() for ahead in replies]

        return dict(zip(subjects, map(float, await self._link.run(call)), strict=True))

    async def _run_script(self, chunk: list[str], counts: dict[str, int], pipe: Any) -> Any:
        keys = [self._prefix + subject for subject in chunk]
        args = [repr(self._interval), *(counts[subject] for subject in chunk)]
        return await self._script(keys=keys, args=args, client=pipe)

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sync_seconds)
            try:
                await self.sync()
            except Exception:  # a bug, not Redis (that is RedisUnavailable): say so, keep sharing
                log.exception("rate-limit sync failed")

    def _sweep(self, now: float) -> None:
        """Forget subjects whose budget is full again: nothing to remember, Redis has the rest."""
        self._tat = {s: tat for s, tat in self._tat.items() if tat > now or s in self._unsynced}
        self._pulled_at = {s: at for s, at in self._pulled_at.items() if s in self._tat}
        self._sweep_at = max(SWEEP_AT, 2 * len(self._tat))
