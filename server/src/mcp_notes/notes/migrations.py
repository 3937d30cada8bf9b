"""The migrations of both stores, read from the package's SQL files; each store applies them."""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

# pg_advisory_lock key: replicas starting together queue here, so exactly one migrates.
ADVISORY_LOCK_KEY = 0x6D63_706E_6F74_6573 & 0x7FFF_FFFF_FFFF_FFFF  # "mcpnotes"


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    folder = resources.files("mcp_notes.migrations") / dialect
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    found.sort()
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations must be numbered 0001, 0002, ... without gaps")
    return found
