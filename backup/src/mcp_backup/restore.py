"""`mcp-backup restore <name> [latest|<key>]`: one server's dump back into its PG_URL_<NAME>.

The dump is streamed to the scratch dir, checked against its manifest's sha256, then loaded by
pg_restore in one transaction: the database ends up as the dump, or unchanged.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mcp_backup import postgres, store
from mcp_backup.config import Config
from mcp_backup.logs import emit
from mcp_backup.manifest import Manifest
from mcp_backup.names import DUMP_SUFFIX, manifest_key, server_name


class RestoreError(Exception):
    """The named dump cannot be restored (missing, or not what its manifest says)."""


def restore(config: Config, server: str, source: str = "latest") -> str:
    """Returns the key restored."""
    url = config.database_url(server)
    name = server_name(server)
    bucket = store.open_store(config.backup_url)
    started = time.monotonic()
    key = resolve(bucket, name, source)
    manifest = _manifest(bucket, key)
    config.scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=config.scratch_dir, prefix="mcp-restore-") as work:
        path = Path(work) / "database.dump"
        sha256 = store.download(bucket, key, path)
        if manifest is not None and manifest.sha256 != sha256:
            raise RestoreError(
                f"{key} does not match its manifest (sha256 {sha256}, expected {manifest.sha256})"
            )
        postgres.restore(url, path)
    emit(
        "restore",
        server=name,
        status="ok",
        object=key,
        sha256=sha256,
        checked=manifest is not None,
        seconds=round(time.monotonic() - started, 3),
    )
    return key


def resolve(bucket: store.Store, name: str, source: str) -> str:
    """`latest`, a full key (`notes/20250101T000000Z.dump`) or the file name under the server."""
    dumps = dump_keys(bucket, name)
    if source == "latest":
        if not dumps:
            raise RestoreError(f"no dumps for {name} yet")
        return dumps[-1]
    key = source if "/" in source else f"{name}/{source.removesuffix(DUMP_SUFFIX)}{DUMP_SUFFIX}"
    if key not in dumps:
        raise RestoreError(f"no dump {key} for {name}; newest: {', '.join(dumps[-3:]) or 'none'}")
    return key


def dump_keys(bucket: store.Store, name: str | None = None) -> list[str]:
    prefix = f"{name}/" if name else None
    return [entry.key for entry in store.entries(bucket, prefix) if entry.key.endswith(DUMP_SUFFIX)]


def _manifest(bucket: store.Store, key: str) -> Manifest | None:
    """Dumps written before manifests existed still restore, unchecked."""
    if manifest_key(key) not in {entry.key for entry in store.entries(bucket, key.rsplit("/", 1)[0] + "/")}:
        return None
    return Manifest.from_json(store.get_bytes(bucket, manifest_key(key)))
