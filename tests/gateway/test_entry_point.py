"""`mcp-gateway` pauses the collector before importing the gateway's app (mcp_notes/heap.py),
and settles it once serving through the shared DrainingServer, as the server does."""

from __future__ import annotations

from tests.server.entry_point import collector_when_the_app_is_imported


def test_the_entry_point_pauses_collections_before_importing_the_app() -> None:
    assert collector_when_the_app_is_imported("mcp_gateway.__main__", "mcp_gateway.app") == "[False]"
