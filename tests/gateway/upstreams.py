"""Third-party upstreams for the gateway tests, written with the SDK's MCPServer, no auth:

    python -m tests.gateway.upstreams plain PORT       stateless, SSE responses
    python -m tests.gateway.upstreams stateful PORT    Mcp-Session-Id sessions (HOST, REPLICA_ID from env)

Both record the headers of every request they receive, readable at GET /seen, so a test can
assert what reached the server (and what never did)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class Recorder:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/seen":
            await JSONResponse(self.seen)(scope, receive, send)
            return
        if scope["type"] == "http":
            headers = {k.decode(): v.decode(errors="replace") for k, v in scope["headers"]}
            self.seen.append({**headers, ":path": scope["path"], ":method": scope["method"]})
            del self.seen[:-500]
        await self.app(scope, receive, send)


def build(mode: str) -> ASGIApp:
    server: MCPServer[Any] = MCPServer(name=f"test-{mode}", version="0.1.0")
    replica = os.environ.get("REPLICA_ID", "-")

    @server.tool()
    async def echo(text: str) -> str:
        """Say it back."""
        return text

    @server.tool()
    async def whoami() -> str:
        """Which replica answered."""
        return replica

    @server.tool()
    async def slow(seconds: float) -> str:
        """Answer after a while."""
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    async def count(to: int, ctx: Context) -> str:
        """Report progress once per 0.3 s, then answer."""
        for step in range(1, to + 1):
            await ctx.report_progress(step, to)
            await asyncio.sleep(0.3)
        return f"counted to {to}"

    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=mode == "plain",
        json_response=False,  # SSE: what the gateway must stream through unbuffered
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return Recorder(app)


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    host = os.environ.get("HOST", "127.0.0.1")
    uvicorn.run(build(mode), host=host, port=port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
