"""`mcp-backup dump`: every PG_URL_<NAME> database to <BACKUP_URL>/<name>/<UTC timestamp>.dump.

Each database is tried even when another failed; the exit code says whether all of them made it.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mcp_backup import postgres, store
from mcp_backup.config import Config
from mcp_backup.logs import emit
from mcp_backup.manifest import Manifest
from mcp_backup.names import DUMP_SUFFIX, MANIFEST_SUFFIX, dump_key, dump_time, manifest_key


def dump_all(config: Config) -> int:
    """Returns how many databases failed."""
    bucket = store.open_store(config.backup_url)
    client = postgres.client_version()
    failed = 0
    for server, url in sorted(config.databases.items()):
        started = time.monotonic()
        try:
            manifest = dump_one(config, bucket, server, url, client)
        except (postgres.PostgresError, store.StoreError, OSError) as error:
            failed += 1
            emit(
                "dump",
                "error",
                server=server,
                status="failed",
                error=postgres.scrub(str(error), url),
                seconds=round(time.monotonic() - started, 3),
            )
            continue
        emit(
            "dump",
            server=server,
            status="ok",
            object=_url(config, manifest.object),
            bytes=manifest.bytes,
            sha256=manifest.sha256,
            tables=len(manifest.tables),
            seconds=round(time.monotonic() - started, 3),
        )
        if config.retention_days is not None:
            prune(bucket, server, keep=manifest.object, days=config.retention_days)
    emit("dump-run", "error" if failed else "info", databases=len(config.databases), failed=failed)
    return failed


def dump_one(config: Config, bucket: store.Store, server: str, url: str, client: str) -> Manifest:
    now = datetime.now(UTC)
    key = dump_key(server, now)
    config.scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=config.scratch_dir, prefix="mcp-backup-") as work:
        path = Path(work) / "database.dump"
        with postgres.snapshot(url) as snapshot:
            postgres.dump(url, path, snapshot.id)
            tables = snapshot.row_counts(config.row_counts)
            schema_version = snapshot.schema_version()
            server_version = snapshot.server_version
        manifest = Manifest(
            server=server,
            object=key,
            created=now.isoformat(timespec="seconds"),
            bytes=path.stat().st_size,
            sha256=store.sha256_of(path),
            server_version=server_version,
            pg_dump=client,
            row_counts=config.row_counts,
            tables=tables,
            schema_version=schema_version,
        )
        store.upload(bucket, key, path)
    # Written last: a dump with a manifest is a complete one.
    store.put_bytes(bucket, manifest_key(key), manifest.to_json())
    return manifest


def prune(bucket: store.Store, server: str, keep: str, days: int) -> None:
    """Deletes this server's dumps and manifests older than `days` (never `keep`, the one just written).
    A failed prune is logged, not fatal: the backup itself succeeded."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    try:
        old = [
            entry.key
            for entry in store.entries(bucket, f"{server}/")
            if entry.key.endswith((DUMP_SUFFIX, MANIFEST_SUFFIX))
            and entry.key not in (keep, manifest_key(keep))
            and (taken := dump_time(entry.key)) is not None
            and taken < cutoff
        ]
        store.delete(bucket, old)
    except store.StoreError as error:
        emit("prune", "warning", server=server, status="failed", error=str(error))
        return
    if old:
        emit("prune", server=server, status="ok", deleted=len(old), older_than_days=days)


def _url(config: Config, key: str) -> str:
    return f"{config.backup_url.rstrip('/')}/{key}"
