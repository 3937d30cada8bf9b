"""The small JSON written beside each dump: enough for a restore drill to check what it restored."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Manifest:
    server: str
    object: str  # key relative to BACKUP_URL
    created: str  # ISO 8601, UTC
    bytes: int
    sha256: str
    server_version: str
    pg_dump: str
    row_counts: str  # "exact": counted in the dump's own snapshot; "estimate": pg_class.reltuples
    tables: dict[str, int | None]  # "schema.table" -> rows (None: never analyzed, estimate only)
    # The newest version in the server's `schema_migrations` table (mcp_notes records each migration
    # there), None without one. A default: manifests written before this field still load.
    schema_version: int | None = None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls(**json.loads(data))
