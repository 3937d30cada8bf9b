"""What the platform's backup image (`backup/`, `mcp-backup`) reads from its environment, on
every target: each database it dumps as `PG_URL_<NAME>`, named for its server."""

from __future__ import annotations


def database_url_env(server: str) -> str:
    """`fastmcp-tools` -> `PG_URL_FASTMCP_TOOLS`."""
    return "PG_URL_" + server.upper().replace("-", "_")
