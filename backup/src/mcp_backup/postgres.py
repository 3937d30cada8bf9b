"""pg_dump / pg_restore from the PATH, and one libpq session that holds the dump's snapshot.

The password never reaches a command line (where `ps` and /proc would show it): the URL goes to
the tools without it, and the password as PGPASSWORD in the child's environment only.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

# Replace what the dump holds, all or nothing; the source's roles need not exist here.
RESTORE_FLAGS = (
    "--clean",
    "--if-exists",
    "--no-owner",
    "--no-acl",
    "--single-transaction",
    "--exit-on-error",
    "--no-password",
)
# Into a new, empty database: nothing to clean, and the drill's role owns what it restores.
DRILL_RESTORE_FLAGS = tuple(flag for flag in RESTORE_FLAGS if flag not in ("--clean", "--if-exists"))
_USER_TABLES = """
    SELECT n.nspname, c.relname, c.reltuples::bigint
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
    ORDER BY 1, 2
"""


class PostgresError(Exception):
    """A dump or restore step that failed; the message never holds the password."""


def split_password(url: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (percent-decoded), if any."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, has_password, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=f"{user}@{host}")), unquote(password) if has_password else None


def scrub(text: str, url: str) -> str:
    """Belt and braces: no tool prints the password, but no message of ours may carry it either."""
    _, password = split_password(url)
    # Longest first: the whole URL before the password inside it.
    for secret in sorted({url, password or "", quote(password or "", safe="")} - {""}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def run(argv: list[str], url: str | None = None, archive: Path | None = None) -> None:
    env = {**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "10")}
    if url is not None:
        dsn, password = split_password(url)
        argv = [*argv, f"--dbname={dsn}"]
        if password is not None:
            env["PGPASSWORD"] = password
    if archive is not None:
        argv = [*argv, str(archive)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # The tool's own words ("server version mismatch", "database ... does not exist") are the
        # useful part of the log line.
        said = " ".join(done.stderr.split())[:500]
        raise PostgresError(scrub(f"{argv[0]} failed (exit {done.returncode}): {said}", url or ""))


def client_version() -> str:
    done = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


@dataclass
class Snapshot:
    """A read-only REPEATABLE READ transaction whose snapshot pg_dump reuses (`--snapshot`), so
    the row counts taken here describe exactly the rows in the dump."""

    connection: psycopg.Connection
    id: str
    server_version: str

    def row_counts(self, mode: str) -> dict[str, int | None]:
        tables = user_tables(self.connection)
        if mode == "estimate":  # pg_class.reltuples: free, approximate, -1 before the first ANALYZE
            return {f"{schema}.{name}": (rows if rows >= 0 else None) for schema, name, rows in tables}
        return {f"{schema}.{name}": self._count(schema, name) for schema, name, _ in tables}

    def _count(self, schema: str, name: str) -> int:
        return count_rows(self.connection, schema, name)

    def schema_version(self) -> int | None:
        return schema_version(self.connection)


def user_tables(connection: psycopg.Connection) -> list[tuple[str, str, int]]:
    """(schema, table, pg_class estimate) of every ordinary table outside the system schemas."""
    return [(str(s), str(n), int(r)) for s, n, r in connection.execute(_USER_TABLES).fetchall()]


def count_rows(connection: psycopg.Connection, schema: str, name: str) -> int:
    query = sql.SQL("SELECT count(*) FROM ONLY {}").format(sql.Identifier(schema, name))
    row = connection.execute(query).fetchone()
    return int(row[0]) if row else 0


def schema_version(connection: psycopg.Connection) -> int | None:
    """The newest version the server's migrations recorded in `schema_migrations` (mcp_notes:
    version, name, applied_at), found through the search_path as the server finds it; None when
    the database has no such table (a server that migrates some other way)."""
    found = connection.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = to_regclass('schema_migrations')"
    ).fetchone()
    if found is None:
        return None
    table = sql.Identifier(found[0], found[1])
    row = connection.execute(sql.SQL("SELECT max(version) FROM {}").format(table)).fetchone()
    return int(row[0]) if row and row[0] is not None else None


@contextmanager
def snapshot(url: str) -> Iterator[Snapshot]:
    try:
        # autocommit: the transaction is exactly the BEGIN below, not one psycopg opens implicitly.
        connection = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="mcp-backup")
    except psycopg.Error as error:
        raise PostgresError(scrub(f"could not connect: {' '.join(str(error).split())[:500]}", url)) from None
    try:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = connection.execute("SELECT pg_export_snapshot(), current_setting('server_version')").fetchone()
        assert row is not None
        yield Snapshot(connection, row[0], row[1])
    except psycopg.Error as error:
        raise PostgresError(
            scrub(f"snapshot session failed: {' '.join(str(error).split())[:500]}", url)
        ) from None
    finally:
        connection.close()


def dump(url: str, path: Path, snapshot_id: str) -> None:
    run(["pg_dump", "--format=custom", "--no-password", f"--snapshot={snapshot_id}", f"--file={path}"], url)
    run(["pg_restore", "--list", str(path)])  # a dump whose table of contents can't be read is no backup


def restore(url: str, path: Path) -> None:
    run(["pg_restore", *RESTORE_FLAGS], url, path)
