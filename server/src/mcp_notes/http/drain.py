"""Shutdown in three steps, so a load balancer never sends a request into a closing replica
and no client is cut off with a bare 500:

1. SIGTERM: /ready answers 503 "draining" at once, while requests are still served for
   SHUTDOWN_DELAY_SECONDS (time for the load balancer to take the replica out).
2. uvicorn stops accepting and lets in-flight requests finish for DRAIN_SECONDS.
3. Just before uvicorn would cancel what is left (with a plain-text 500), each remaining
   request is cut here and answered with a JSON-RPC error, 503 and Retry-After.
"""

from __future__ import annotations

import asyncio

CUT_MARGIN_SECONDS = 0.5  # ahead of uvicorn's own cancel at DRAIN_SECONDS


class Drain:
    def __init__(self) -> None:
        self.draining = False
        self.cutting = False
        self._in_flight: set[asyncio.Task[object]] = set()

    def track(self) -> asyncio.Task[object] | None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        return task

    def untrack(self, task: asyncio.Task[object] | None) -> None:
        self._in_flight.discard(task)  # type: ignore[arg-type]

    def begin(self) -> None:
        self.draining = True

    def schedule_cut(self, loop: asyncio.AbstractEventLoop, after_seconds: float) -> None:
        loop.call_later(max(after_seconds - CUT_MARGIN_SECONDS, 0.0), self.cut)

    def cut(self) -> None:
        self.cutting = True
        for task in list(self._in_flight):
            task.cancel()
