"""The floor under get_note: the bare server (bare_server.py) with one more tool, `read_note`,
that reads the note from Postgres with the query ours runs (GET_NOTE), through asyncpg, on one
of DB_POOL_MAX connections (ours' pool size) held in a plain queue, and turns the row into its
answer as ours does; nothing else of ours: no auth, rate limit, log line or metrics.

What it loses against the bare server's `fixed_note` is what one Postgres read costs a server
on this machine (the driver, two system calls, the tool awaiting I/O); what ours' `get_note`
loses against it is our own layers. The bench runs it only beside the get_note row.

It sets the garbage collector as ours does once serving (mcp_notes/heap.py). That is not one of
our layers but what any server that awaits I/O needs: with CPython's defaults, the objects of
requests suspended on Postgres reach the old generation and full collections follow, which cost
this server about 10% of its CPU and a p99 of 55 ms (perf, 2026-11-28). The bare server's tool
never suspends, and it keeps the SDK's defaults: with ours' settings it measured 4,669-4,677
req/s and 213-214 µs per request, with the defaults 4,565-4,678 and 213-219 (same day, two
rounds each).

    python -m bench.floor_server        # settings from the environment, as mcp-notes serve
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import uvicorn
from starlette.applications import Starlette

from bench.bare_server import Note, create_server, transport
from mcp_notes import heap
from mcp_notes.notes.postgres import GET_NOTE, note_from_row
from mcp_notes.serving import uvicorn_config
from mcp_notes.settings import Settings, load_settings

OWNER = ("", "bench")  # tenant and subject of the bench's token, whose note ours reads


def create_app(settings: Settings) -> Starlette:
    server = create_server()
    idle: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()

    @server.tool()
    async def read_note(note_id: str) -> Note:
        """One Postgres read, shaped as the bare server's fixed note."""
        conn = await idle.get()
        try:
            row = await conn.fetchrow(GET_NOTE, *OWNER, uuid.UUID(note_id))
        finally:
            idle.put_nowait(conn)
        if row is None:
            raise ValueError(f"note {note_id} not found")
        return Note.model_validate(note_from_row(row).as_dict())  # as ours turns a row into its answer

    app = transport(server, settings)
    sdk_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for _ in range(settings.db_pool_max):
            idle.put_nowait(await asyncpg.connect(str(settings.database_url)))
        heap.settle()
        try:
            async with sdk_lifespan(app):
                yield
        finally:
            while not idle.empty():
                await idle.get_nowait().close()

    app.router.lifespan_context = lifespan
    return app


def main() -> None:
    settings = load_settings()
    uvicorn.Server(uvicorn_config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
