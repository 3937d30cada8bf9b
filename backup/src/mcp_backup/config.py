"""The job's whole input is its environment: BACKUP_URL, PG_URL_<NAME> per database, and knobs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mcp_backup.names import ENV_PREFIX, env_name, server_name


class ConfigError(Exception):
    """The job cannot start; the message names the variable to fix."""


@dataclass(frozen=True)
class Config:
    backup_url: str
    databases: dict[str, str]  # server name -> database URL (a secret: never logged)
    scratch_dir: Path
    retention_days: int | None
    row_counts: str  # "exact" (same snapshot as the dump) or "estimate" (pg_class.reltuples)

    def database_url(self, server: str) -> str:
        url = self.databases.get(server_name(server))
        if url is None:
            known = ", ".join(sorted(self.databases)) or "none"
            raise ConfigError(f"no database named {server!r}: {env_name(server)} is not set (known: {known})")
        return url


def load(environ: Mapping[str, str] | None = None, *, need_backup_url: bool = True) -> Config:
    env = os.environ if environ is None else environ
    backup_url = env.get("BACKUP_URL", "").strip()
    if need_backup_url and not backup_url:
        raise ConfigError("BACKUP_URL is not set (s3://bucket/prefix or gs://bucket/prefix)")
    return Config(
        backup_url=backup_url,
        databases={
            server_name(key.removeprefix(ENV_PREFIX)): value
            for key, value in env.items()
            if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX) and value
        },
        scratch_dir=Path(env.get("BACKUP_SCRATCH_DIR") or "/tmp"),
        retention_days=_retention(env.get("BACKUP_RETENTION_DAYS", "")),
        row_counts=_row_counts(env.get("BACKUP_ROW_COUNTS", "exact")),
    )


def _retention(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"BACKUP_RETENTION_DAYS must be a whole number of days >= 1, not {value!r}")
    return int(value)


def _row_counts(value: str) -> str:
    if value not in ("exact", "estimate"):
        raise ConfigError(f"BACKUP_ROW_COUNTS must be exact or estimate, not {value!r}")
    return value
