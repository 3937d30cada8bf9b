"""mcp-notes serve | migrate: the commands (__main__.py is the entry point).

Backups are the platform's job (backup/, mcp-backup), not this image's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from mcp_notes import logs, telemetry
from mcp_notes.app import create_app
from mcp_notes.serving import DrainingServer, uvicorn_config
from mcp_notes.settings import Settings, SettingsError, load_settings

log = logging.getLogger("mcp_notes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mcp-notes", description="A team knowledge base as an MCP server")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve MCP over HTTP (the default)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    options = parser.parse_args(argv)

    try:
        settings = load_settings(serving=(options.command or "serve") == "serve")
    except SettingsError as error:
        print(f"mcp-notes: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    return _run(options, settings)


def _run(options: argparse.Namespace, settings: Settings) -> int:
    if (options.command or "serve") == "serve":
        return serve(settings)
    if settings.database_url is None:
        log.error("migrate needs DATABASE_URL (the embedded SQLite store migrates itself)")
        return 2
    asyncio.run(_migrate(settings))
    return 0


async def _migrate(settings: Settings) -> None:
    from mcp_notes.notes.postgres import PostgresNotes

    store = await PostgresNotes.open(
        str(settings.database_url),
        min_size=1,
        max_size=1,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
    )
    await store.close()


def serve(settings: Settings) -> int:
    telemetry.setup("mcp-notes")
    app = create_app(settings)
    server = DrainingServer(uvicorn_config(app, settings), app.drain, settings)
    # uvicorn re-raises the signal once shut down: Ctrl-C then ends quietly, as it was asked to.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0
