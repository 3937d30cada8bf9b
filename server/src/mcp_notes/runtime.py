"""Connections the app opens at start and closes at shutdown, and what /ready reports of them.

Readiness is what this replica cannot serve without: the database, and nothing else. Redis is
a saving (limits fall back per replica, searches skip the cache), so a Redis restart must not
take every replica out of the load balancer at once; it is reported, never a reason for 503."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
from redis.asyncio import Redis

from mcp_notes.notes.store import NoteStore
from mcp_notes.settings import Settings
from mcp_notes.shared.health import DependencyHealth, describe
from mcp_notes.shared.limiter import GcraLimiter
from mcp_notes.shared.redis_link import redis_options
from mcp_notes.shared.search_cache import SearchCache
from mcp_notes.shared.wiring import SharedState

__all__ = ["Runtime", "redis_options"]

PROBE_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: NoteStore | None = None
        self.shared = SharedState(settings)
        self.database_health = DependencyHealth("postgres" if settings.database_url else "sqlite")
        self._probe: DatabaseProbe | None = None

    @property
    def limiter(self) -> GcraLimiter:
        return self.shared.limiter

    @property
    def cache(self) -> SearchCache:
        return self.shared.cache

    @property
    def redis(self) -> Redis | None:
        return self.shared.redis

    @property
    def dependencies(self) -> list[DependencyHealth]:
        """For the mcp_dependency_up metric."""
        redis = [self.shared.redis_health] if self.shared.redis_health is not None else []
        return [self.database_health, *redis]

    async def open(self) -> None:
        s = self.settings
        # Only the store in use is imported: aiosqlite alone is ~50 ms of every start.
        if s.database_url is not None:
            from mcp_notes.notes.postgres import PostgresNotes

            self.store = await PostgresNotes.open(
                str(s.database_url),
                min_size=s.db_pool_min,
                max_size=s.db_pool_max,
                connect_timeout=s.db_connect_timeout,
                statement_timeout=s.db_statement_timeout,
            )
        else:
            from mcp_notes.notes.sqlite import SqliteNotes

            self.store = await SqliteNotes.open(s.sqlite_path)
        self._probe = DatabaseProbe(s, self.store, self.database_health)
        await self._probe.start()
        await self.shared.open()

    async def close(self) -> None:
        await self.shared.close()
        if self._probe is not None:
            await self._probe.close()
        if self.store is not None:
            await self.store.close()

    async def checks(self) -> dict[str, str]:
        """What readiness depends on, "ok" or why not: the database, as last probed (every
        PROBE_SECONDS, each probe bounded by PROBE_TIMEOUT_SECONDS). Cheap: it never waits on
        the database itself."""
        db = self.database_health
        return {db.name: "ok" if db.up else db.reason}

    def degraded(self) -> dict[str, str]:
        """Dependencies that are down but that the replica serves without, and why."""
        redis = self.shared.redis_health
        return {"redis": redis.reason} if redis is not None and not redis.up else {}


class DatabaseProbe:
    """Pings the database in the background on a connection of its own, so /ready reads an
    answer that a busy request pool neither delays nor turns into a false "unavailable"."""

    def __init__(self, settings: Settings, store: NoteStore, health: DependencyHealth) -> None:
        self._settings = settings
        self._store = store
        self._health = health
        self._connection: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.check()
        self._task = asyncio.get_running_loop().create_task(self._forever())

    async def check(self) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                await self._ping()
        except Exception as error:  # noqa: BLE001 - any failure means "cannot serve", with why
            self._health.down(describe(error))
            await self._disconnect()
        else:
            self._health.back_up()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def _ping(self) -> None:
        if self._settings.database_url is None:
            await self._store.ping()  # SQLite: a file, no pool to be queued in
            return
        if self._connection is None:
            self._connection = await asyncpg.connect(
                self._settings.database_url,
                timeout=PROBE_TIMEOUT_SECONDS,
                server_settings={"application_name": "mcp-notes-ready"},
            )
        await self._connection.fetchval("SELECT 1")

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()  # no goodbye: it may be the thing that hangs

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            await self.check()
