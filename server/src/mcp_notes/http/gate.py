"""A cap on concurrent MCP requests per replica. Past the cap a request waits briefly for a
slot and is then refused with 503 and Retry-After: a replica that queues without bound
answers nobody in time, and its pools (Postgres, Redis) raise instead of serving.

A counter and a queue of waiters rather than asyncio.Semaphore: its locked() walks the
waiters on every call, and the free-slot path here runs on every request."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class Gate:
    def __init__(self, limit: int, wait_seconds: float) -> None:
        self._free = limit
        self._wait = wait_seconds
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> bool:
        """True with a slot held (give it back with leave()); False when none freed in time."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._wait):
                await waiter  # leave() hands its slot over by resolving this
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # the slot came as time ran out: pass it on
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            return False
        return True

    def leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
