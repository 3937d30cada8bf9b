"""mcp-backup: dump, restore, list. Exit 0 done, 1 a database or the store failed, 2 bad input."""

from __future__ import annotations

import argparse
import os
import sys

import psycopg

from mcp_backup import config, drill, postgres, provision, restore, store
from mcp_backup.dump import dump_all
from mcp_backup.logs import emit
from mcp_backup.names import DUMP_SUFFIX, server_name

ENVIRONMENT = """environment:
  BACKUP_URL              s3://bucket/prefix or gs://bucket/prefix (dumps go to <BACKUP_URL>/<name>/)
  PG_URL_<NAME>           one database URL per server (secret); <NAME> upper-cased, '-' as '_'
  BACKUP_SCRATCH_DIR      where dumps are staged (default /tmp); needs room for the largest dump
  BACKUP_RETENTION_DAYS   delete a server's dumps older than this after a good dump (default: keep all)
  BACKUP_ROW_COUNTS       exact (default, counted in the dump's snapshot) or estimate (pg_class)
  PG_ADMIN_URL, PG_URL    provision only: the instance's admin URL and the server's own URL
  PG_DRILL_URL            drill only: a role on the same instance that may CREATE DATABASE
                          (default: each server's own PG_URL_<NAME>)
credentials: the platform's (task role, metadata server) or AWS_* / GOOGLE_* variables."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mcp-backup",
        description="pg_dump every server database to object storage, and restore one.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "dump", help="dump every PG_URL_<NAME> database (all are tried; exit 1 if any failed)"
    )
    back = commands.add_parser(
        "restore", help="restore one server's dump into its PG_URL_<NAME> (replaces it)"
    )
    back.add_argument("name", help="server name, e.g. notes (reads PG_URL_NOTES)")
    back.add_argument("source", nargs="?", default="latest", help="latest (default) or an object key")
    commands.add_parser(
        "provision", help="create or update the role and database PG_URL names, as PG_ADMIN_URL (idempotent)"
    )
    proof = commands.add_parser(
        "drill",
        help="restore each newest dump into a scratch database, check it against its manifest, drop it"
        " (exit 1 if any drill failed)",
    )
    which = proof.add_mutually_exclusive_group()
    which.add_argument("--server", metavar="NAME", help="one server (reads PG_URL_<NAME>)")
    which.add_argument("--all", action="store_true", help="every PG_URL_<NAME> database (the default)")
    show = commands.add_parser("list", help="list dumps, of one server or all")
    show.add_argument("name", nargs="?", help="server name")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "dump":
            return _dump()
        if args.command == "restore":
            return _restore(args.name, args.source)
        if args.command == "provision":
            return _provision()
        if args.command == "drill":
            return _drill(args.server)
        return _list(args.name)
    except config.ConfigError as error:
        emit(args.command, "error", status="refused", error=str(error))
        return 2


def _dump() -> int:
    settings = config.load()
    if not settings.databases:
        raise config.ConfigError("no PG_URL_<NAME> variables are set: nothing to back up")
    try:
        return 1 if dump_all(settings) else 0
    except store.StoreError as error:  # BACKUP_URL itself is unusable
        emit("dump-run", "error", status="failed", error=str(error))
        return 1


def _restore(name: str, source: str) -> int:
    settings = config.load()
    try:
        restore.restore(settings, name, source)
    except (restore.RestoreError, store.StoreError, postgres.PostgresError, OSError) as error:
        url = settings.databases.get(server_name(name), "")
        emit(
            "restore",
            "error",
            server=server_name(name),
            status="failed",
            error=postgres.scrub(str(error), url),
        )
        return 1
    return 0


def _drill(server: str | None) -> int:
    settings = config.load()
    if server is not None:
        settings.database_url(server)  # refuses an unknown name, listing the known ones
        servers = [server_name(server)]
    else:
        servers = sorted(settings.databases)
    if not servers:
        raise config.ConfigError("no PG_URL_<NAME> variables are set: nothing to drill")
    try:
        return 1 if drill.drill_all(settings, servers, os.environ.get(drill.DRILL_URL_ENV) or None) else 0
    except store.StoreError as error:  # BACKUP_URL itself is unusable
        emit("drill-run", "error", status="failed", error=str(error))
        return 1


def _provision() -> int:
    admin, url = os.environ.get("PG_ADMIN_URL", ""), os.environ.get("PG_URL", "")
    if not admin or not url:
        raise config.ConfigError("provision needs PG_ADMIN_URL and PG_URL")
    try:
        role_created, database_created = provision.provision(admin, url)
    except (provision.ProvisionError, psycopg.Error) as error:
        message = postgres.scrub(postgres.scrub(str(error), admin), url)
        emit("provision", "error", status="failed", error=message)
        return 1
    emit("provision", status="ok", role_created=role_created, database_created=database_created)
    return 0


def _list(name: str | None) -> int:
    settings = config.load()
    try:
        bucket = store.open_store(settings.backup_url)
        found = [
            entry
            for entry in store.entries(bucket, f"{server_name(name)}/" if name else None)
            if entry.key.endswith(DUMP_SUFFIX)
        ]
    except store.StoreError as error:
        print(error, file=sys.stderr)
        return 1
    for entry in found:
        print(f"{entry.key}\t{entry.size}\t{entry.modified.isoformat(timespec='seconds')}")
    return 0
