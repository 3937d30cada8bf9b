"""`mcp-bridge` pauses the collector before importing its modules (mcp_notes/heap.py), and
settles it once serving through the shared DrainingServer, as the server does."""

from __future__ import annotations

from tests.server.entry_point import collector_when_the_app_is_imported


def test_the_entry_point_pauses_collections_before_importing_the_bridge() -> None:
    assert collector_when_the_app_is_imported("mcp_bridge.__main__", "mcp_bridge.settings") == "[False]"
