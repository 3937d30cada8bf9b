"""Connections the app opens at start and closes at shutdown, and what /ready reports of them."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from mcp_notes.notes.postgres import PostgresNotes
from mcp_notes.notes.sqlite import SqliteNotes
from mcp_notes.notes.store import NoteStore
from mcp_notes.settings import Settings

READY_TIMEOUT_SECONDS = 2.0


def redis_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if settings.redis_ca_cert is not None:
        options["ssl_ca_data"] = settings.redis_ca_cert
    return options


class Runtime:
    """Connections the app opens at start and closes at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: NoteStore | None = None
        self.redis: Redis | None = None
        self.draining = False

    async def open(self) -> None:
        s = self.settings
        if s.database_url is not None:
            self.store = await PostgresNotes.open(
                str(s.database_url),
                min_size=s.db_pool_min,
                max_size=s.db_pool_max,
                connect_timeout=s.db_connect_timeout,
                statement_timeout=s.db_statement_timeout,
            )
        else:
            self.store = await SqliteNotes.open(s.sqlite_path)
        if s.redis_url is not None:
            self.redis = Redis.from_url(str(s.redis_url), **redis_options(s))

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
        if self.redis is not None:
            await self.redis.aclose()

    async def checks(self) -> dict[str, str]:
        """Each dependency: "ok", or why it is not."""
        results: dict[str, str] = {}
        assert self.store is not None
        results[self.store.backend] = await _check(self.store.ping())
        if self.redis is not None:
            results["redis"] = await _check(self.redis.ping())
        return results


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT_SECONDS)
        return "ok"
    except TimeoutError:
        return f"no answer within {READY_TIMEOUT_SECONDS:g} s"
    except Exception as error:  # noqa: BLE001 - /ready reports, it does not crash
        return type(error).__name__
