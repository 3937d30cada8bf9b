"""A cap on concurrent MCP requests per replica. Past the cap a request waits briefly for a
slot and is then refused with 503 and Retry-After: a replica that queues without bound
answers nobody in time, and its pools (Postgres, Redis) raise instead of serving."""

from __future__ import annotations

import asyncio


class Gate:
    def __init__(self, limit: int, wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._wait = wait_seconds

    async def enter(self) -> bool:
        """True with a slot held (release it with leave()); False when none freed in time."""
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: returns at once, no timer armed
            return True
        try:
            async with asyncio.timeout(self._wait):
                await self._slots.acquire()
        except TimeoutError:
            return False
        return True

    def leave(self) -> None:
        self._slots.release()
