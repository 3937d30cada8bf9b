"""`mcp-backup drill [--server NAME | --all]`: prove that the newest dump of each database restores.

For each database: its newest dump must have a manifest and match its sha256; it is restored into
a new scratch database on the same instance (`drill_<db>_<UTC time>_<random>`), whose schema
version and per-table row counts must equal what the manifest recorded at dump time; the scratch
database is dropped whatever happened. The server's own database is never touched.

Creating a database needs CREATEDB, which a server's own role may lack (RDS, CloudNativePG):
`PG_DRILL_URL` names a role on the same instance that has it; without it each server's own
`PG_URL_<NAME>` is used (Cloud SQL's users have it).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from mcp_backup import postgres, store
from mcp_backup.config import Config
from mcp_backup.logs import emit
from mcp_backup.manifest import Manifest
from mcp_backup.names import manifest_key
from mcp_backup.restore import dump_keys

DRILL_URL_ENV = "PG_DRILL_URL"
# Leftovers of a drill that was killed (job timeout, OOM) before its own DROP: older than any
# drill can run, so never a concurrent drill's database.
LEFTOVER_AGE = timedelta(hours=6)
_STAMP = "%Y%m%dt%H%M%Sz"
_IDENTIFIER_LIMIT = 63  # NAMEDATALEN - 1


class DrillFailed(Exception):
    """The drill ran and the dump did not prove good; the message is the reason."""


@dataclass
class Outcome:
    server: str
    status: str = "failed"
    reason: str | None = None
    object: str | None = None
    scratch: str | None = None
    checked: dict[str, object] = field(default_factory=dict)


def drill_all(config: Config, servers: list[str], admin_url: str | None) -> int:
    """Returns how many drills failed; each database is tried even after one failed."""
    bucket = store.open_store(config.backup_url)
    failed = 0
    for server in servers:
        url = admin_url or config.database_url(server)
        started = time.monotonic()
        outcome = Outcome(server)
        try:
            drill_one(config, bucket, outcome, url)
            outcome.status = "ok"
        except (DrillFailed, postgres.PostgresError, store.StoreError, OSError, psycopg.Error) as error:
            outcome.reason = _scrubbed(str(error), url, config.database_url(server))
        failed += outcome.status != "ok"
        emit(
            "drill",
            "info" if outcome.status == "ok" else "error",
            server=server,
            status=outcome.status,
            reason=outcome.reason,
            object=outcome.object,
            scratch_database=outcome.scratch,
            seconds=round(time.monotonic() - started, 3),
            **outcome.checked,
        )
    emit("drill-run", "error" if failed else "info", databases=len(servers), failed=failed)
    return failed


def drill_one(config: Config, bucket: store.Store, outcome: Outcome, admin_url: str) -> None:
    keys = dump_keys(bucket, outcome.server)
    if not keys:
        raise DrillFailed(f"no dumps for {outcome.server}")
    key = outcome.object = keys[-1]
    listed = {entry.key for entry in store.entries(bucket, key.rsplit("/", 1)[0] + "/")}
    if manifest_key(key) not in listed:
        # The manifest is written last: without it the dump never finished, or predates manifests.
        raise DrillFailed(f"{key} has no manifest ({manifest_key(key)}): nothing to check it against")
    manifest = Manifest.from_json(store.get_bytes(bucket, manifest_key(key)))
    _drop_leftovers(admin_url, outcome.server)
    config.scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=config.scratch_dir, prefix="mcp-drill-") as work:
        path = Path(work) / "database.dump"
        sha256 = store.download(bucket, key, path)
        if sha256 != manifest.sha256:
            raise DrillFailed(
                f"{key} does not match its manifest (sha256 {sha256}, expected {manifest.sha256})"
            )
        with scratch_database(admin_url, outcome.server) as (name, scratch_url):
            outcome.scratch = name
            postgres.run(["pg_restore", *postgres.DRILL_RESTORE_FLAGS], scratch_url, path)
            outcome.checked = check(scratch_url, manifest)


def check(url: str, manifest: Manifest) -> dict[str, object]:
    """The restored database against what the dump recorded; returns what was compared."""
    with psycopg.connect(
        url, autocommit=True, connect_timeout=10, application_name="mcp-backup drill"
    ) as conn:
        version = postgres.schema_version(conn)
        restored = {f"{s}.{n}": postgres.count_rows(conn, s, n) for s, n, _ in postgres.user_tables(conn)}
    problems: list[str] = []
    if version != manifest.schema_version:
        problems.append(f"schema version {version}, the dump recorded {manifest.schema_version}")
    missing = sorted(set(manifest.tables) - set(restored))
    extra = sorted(set(restored) - set(manifest.tables))
    if missing:
        problems.append(f"tables missing: {', '.join(missing[:5])}")
    if extra:
        problems.append(f"tables the dump did not record: {', '.join(extra[:5])}")
    # Estimated counts (BACKUP_ROW_COUNTS=estimate) are approximate: only the tables are compared.
    if manifest.row_counts == "exact":
        differ = [
            f"{table} {restored[table]} rows, the dump recorded {rows}"
            for table, rows in sorted(manifest.tables.items())
            if table in restored and restored[table] != rows
        ]
        problems.extend(differ[:5])
    if problems:
        raise DrillFailed("restored database differs from the manifest: " + "; ".join(problems))
    return {
        "schema_version": version,
        "tables": len(restored),
        "rows": sum(restored.values()),
        "row_counts": manifest.row_counts,
    }


def scratch_name(server: str, now: datetime) -> str:
    """`drill_<db>_<UTC time>_<random>`, a plain lower-case identifier within Postgres' 63."""
    suffix = f"_{now.astimezone(UTC).strftime(_STAMP)}_{secrets.token_hex(3)}"
    base = "".join(c if c.isalnum() else "_" for c in server.lower())
    return f"drill_{base}"[: _IDENTIFIER_LIMIT - len(suffix)] + suffix


@contextmanager
def scratch_database(admin_url: str, server: str) -> Iterator[tuple[str, str]]:
    """A new database beside the server's, dropped on the way out even when the drill failed."""
    name = scratch_name(server, datetime.now(UTC))
    with _admin(admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name, with_database(admin_url, name)
    finally:
        _drop(admin_url, name)


def with_database(url: str, database: str) -> str:
    """The same URL (host, role, TLS settings) naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _drop(admin_url: str, name: str) -> None:
    # FORCE: a connection left behind by a failed check must not keep the copy alive.
    try:
        with _admin(admin_url) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise DrillFailed(
            f"the scratch database {name} was not dropped: {' '.join(str(error).split())}"
        ) from None


def _drop_leftovers(admin_url: str, server: str) -> None:
    prefix = scratch_name(server, datetime.now(UTC)).rsplit("_", 2)[0] + "_"
    with _admin(admin_url) as conn:
        names = [
            str(row[0])
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
            ).fetchall()
        ]
    cutoff = datetime.now(UTC) - LEFTOVER_AGE
    for name in names:
        stamp = name.removeprefix(prefix).split("_")[0]
        try:
            made = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        if made < cutoff:
            _drop(admin_url, name)
            emit("drill-cleanup", "warning", server=server, dropped=name)


@contextmanager
def _admin(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(
        url, autocommit=True, connect_timeout=10, application_name="mcp-backup drill"
    ) as conn:
        yield conn


def _scrubbed(text: str, *urls: str) -> str:
    for url in urls:
        text = postgres.scrub(text, url)
    return " ".join(text.split())[:800]
