"""How server names, env vars and object keys relate.

A server `fastmcp-tools` has its URL in `PG_URL_FASTMCP_TOOLS` and its dumps under
`<BACKUP_URL>/fastmcp-tools/<UTC timestamp>.dump`, each with `<timestamp>.manifest.json` beside it.
Timestamps sort as text, so the newest dump is the largest key.
"""

from __future__ import annotations

from datetime import UTC, datetime

ENV_PREFIX = "PG_URL_"
DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
_STAMP = "%Y%m%dT%H%M%SZ"


def server_name(env_suffix: str) -> str:
    """`FASTMCP_TOOLS` -> `fastmcp-tools`."""
    return env_suffix.lower().replace("_", "-")


def env_name(server: str) -> str:
    """`fastmcp-tools` (or `FASTMCP_TOOLS`) -> `PG_URL_FASTMCP_TOOLS`."""
    return ENV_PREFIX + server.upper().replace("-", "_")


def dump_key(server: str, now: datetime) -> str:
    return f"{server}/{now.astimezone(UTC).strftime(_STAMP)}{DUMP_SUFFIX}"


def manifest_key(dump: str) -> str:
    return dump.removesuffix(DUMP_SUFFIX) + MANIFEST_SUFFIX


def dump_time(key: str) -> datetime | None:
    """When a dump (or its manifest) was taken, from its key; None for keys that are not ours."""
    stamp = key.rsplit("/", 1)[-1].removesuffix(DUMP_SUFFIX).removesuffix(MANIFEST_SUFFIX)
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
