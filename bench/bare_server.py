"""The reference: the SDK's MCPServer with one trivial tool and nothing of ours around it.

It reads its Settings from the very environment the bench gives ours, and from them builds the
same uvicorn setup `mcp-notes serve` uses (`uvicorn_config`) and the same transport options
(stateless, JSON responses, the same allowed Hosts and Origins). So any gap the benchmark shows
is what our layers and storage cost. It uses nothing else of those settings: no auth, no
database, no Redis.

    python -m bench.bare_server        # settings from the environment, as mcp-notes serve
"""

from __future__ import annotations

from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel
from starlette.applications import Starlette

from mcp_notes.serving import uvicorn_config
from mcp_notes.settings import Settings, load_settings


class Note(BaseModel):
    """Shaped like our get_note result, so both tools return the same kind of structured content."""

    id: str
    title: str
    body: str
    tags: list[str]
    version: int
    created_at: str
    updated_at: str


# The same note the benchmark creates in ours (bench/calls.py), held in memory here.
FIXED = Note(
    id="00000000-0000-0000-0000-000000000000",
    title="Benchmark note",
    body="The quick brown fox jumps over the lazy dog. " * 4,
    tags=["bench"],
    version=1,
    created_at="2026-01-01T00:00:00+00:00",
    updated_at="2026-01-01T00:00:00+00:00",
)


def create_app(settings: Settings) -> Starlette:
    server = create_server()

    @server.tool()
    async def fixed_note(note_id: str) -> Note:
        """One string argument in, one structured note out: the SDK's own cost of a tool call."""
        return FIXED

    return transport(server, settings)


def create_server() -> MCPServer[Any]:
    return MCPServer(name="bare", version="0.1.0")


def transport(server: MCPServer[Any], settings: Settings) -> Starlette:
    """The SDK's own Starlette app around `server`, with ours' transport options."""
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(
            allowed_hosts=settings.hosts, allowed_origins=settings.origins
        ),
    )


def main() -> None:
    settings = load_settings()
    uvicorn.Server(uvicorn_config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
