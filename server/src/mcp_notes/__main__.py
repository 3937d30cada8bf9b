"""mcp-notes serve | migrate | backup | restore SOURCE"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import sys
from types import FrameType

import uvicorn

from mcp_notes import backup, logs
from mcp_notes.app import create_app
from mcp_notes.http.drain import Drain
from mcp_notes.http.protocol import with_header_timeout
from mcp_notes.settings import Settings, SettingsError, load_settings

log = logging.getLogger("mcp_notes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mcp-notes", description="A team knowledge base as an MCP server")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve MCP over HTTP (the default)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("backup", help="pg_dump DATABASE_URL to BACKUP_URL")
    restore = commands.add_parser("restore", help="load a dump into DATABASE_URL")
    restore.add_argument("source", help="a dump file, an object name under BACKUP_URL, or 'latest'")
    options = parser.parse_args(argv)

    try:
        settings = load_settings(serving=(options.command or "serve") == "serve")
    except SettingsError as error:
        print(f"mcp-notes: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        return _run(options, settings)
    except backup.BackupError as error:
        log.error("%s", error)
        return 1


def _run(options: argparse.Namespace, settings: Settings) -> int:
    command = options.command or "serve"
    if command == "serve":
        return serve(settings)
    if settings.database_url is None:
        log.error("%s needs DATABASE_URL (the embedded SQLite default has nothing to dump)", command)
        return 2
    database_url = str(settings.database_url)
    if command == "migrate":
        asyncio.run(_migrate(settings))
        return 0
    if command == "backup":
        if settings.backup_url is None:
            log.error("backup needs BACKUP_URL (s3://bucket/prefix or gs://bucket/prefix)")
            return 2
        backup.backup(database_url, settings.backup_url)
        return 0
    backup.restore(database_url, options.source, settings.backup_url)
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
    app = create_app(settings)
    server = DrainingServer(uvicorn_config(app, settings), app.drain, settings)
    # uvicorn re-raises the signal once shut down: Ctrl-C then ends quietly, as it was asked to.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


def uvicorn_config(app: object, settings: Settings) -> uvicorn.Config:
    """The one uvicorn setup, shared with `make bench` so both servers it compares run alike."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=with_header_timeout(settings.header_timeout_seconds),
        timeout_keep_alive=settings.keepalive_seconds,
        log_config=None,  # ours: JSON on stdout
        access_log=False,  # one request line from our Edge layer instead
        proxy_headers=True,
        forwarded_allow_ips="*",  # behind a load balancer that sets X-Forwarded-*
        # Drain cuts what is left just before this, with a JSON-RPC 503 (see http/drain.py).
        timeout_graceful_shutdown=settings.drain_seconds,
        lifespan="on",
    )


class DrainingServer(uvicorn.Server):
    """uvicorn, told of SIGTERM before it stops listening (see http/drain.py)."""

    def __init__(self, config: uvicorn.Config, drain: Drain, settings: Settings) -> None:
        super().__init__(config)
        self._drain = drain
        self._delay = settings.shutdown_delay_seconds
        self._drain_seconds = settings.drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain.draining:  # a second signal: stop now, as uvicorn does
            super().handle_exit(sig, frame)
            return
        self._drain.begin()
        log.info("draining", extra={"signal": sig, "delay_seconds": self._delay})
        loop = asyncio.get_event_loop()
        stop = functools.partial(super().handle_exit, sig, frame)
        loop.call_soon_threadsafe(loop.call_later, self._delay, stop)
        loop.call_soon_threadsafe(self._drain.schedule_cut, loop, self._delay + self._drain_seconds)


if __name__ == "__main__":
    sys.exit(main())
