"""A small pool of asyncpg connections, in place of asyncpg's own Pool.

asyncpg's Pool costs about 150 µs of CPU per acquire and release (a holder, a proxy object, a
shielded task per release), measured against a plain list of connections under `make bench`'s
load: a tenth of a `get_note`. This one keeps what the store needs and no more:
- at most `max_size` connections; past that, acquire waits up to `acquire_timeout`;
- a connection whose state is unknown (an error on the connection, a cancelled query, a
  transaction left open) is closed, never handed out again;
- the most recently used connection first, so idle ones stay idle.
It keeps no per-session state to reset: the store sets none (no SET, LISTEN or cursors).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import asyncpg


class ConnectionPool:
    def __init__(self, dsn: str, *, max_size: int, acquire_timeout: float, **connect: Any) -> None:
        self._dsn = dsn
        self._max = max_size
        self._acquire_timeout = acquire_timeout
        self._connect = connect  # timeout, command_timeout, server_settings for asyncpg.connect
        self._idle: list[asyncpg.Connection] = []
        self._size = 0  # connections open or opening
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False

    async def open(self, min_size: int) -> None:
        for _ in range(min_size):
            self._size += 1
            try:
                self._idle.append(await self._new())
            except BaseException:
                self._size -= 1
                raise

    async def acquire(self) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._size -= 1
        if self._size < self._max:
            self._size += 1
            return await self._new_or_free_slot()
        waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._acquire_timeout):
                handed = await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                self._pass_on(waiter.result())  # it came as time ran out
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise
        return handed if handed is not None else await self._new_or_free_slot()

    def release(self, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        if broken or self._closed or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._pass_on(None)  # its slot: to a waiter, who opens a new connection
            return
        self._pass_on(conn)

    def in_use(self) -> int:
        return self._size - len(self._idle)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)
            self._size -= 1

    async def _new(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, **self._connect)

    async def _new_or_free_slot(self) -> asyncpg.Connection:
        """Open a connection in a slot already counted; give the slot back if that fails."""
        try:
            return await self._new()
        except BaseException:
            self._pass_on(None)
            raise

    def _pass_on(self, conn: asyncpg.Connection | None) -> None:
        """A connection (or, for None, a free slot) goes to the first waiter still waiting;
        else a connection joins the idle ones and a slot is given up."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is None:
            self._size -= 1
        elif self._closed:
            conn.terminate()
            self._size -= 1
        else:
            self._idle.append(conn)
