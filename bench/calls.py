"""The JSON-RPC requests the benchmark sends, and one checked request outside wrk.

Every request is a self-contained 2026-07-28 call, the stateless protocol: no initialize, no
session. The SDK routes a POST to that path when its MCP-Protocol-Version header names a
modern revision, and then insists (mcp/shared/inbound.py, classify_inbound_request) that:
  - params._meta carries the protocol version and the client capabilities,
  - MCP-Protocol-Version equals that version, Mcp-Method equals the body's method,
  - Mcp-Name equals params.name for tools/call.
`ping` does not exist at 2026-07-28; `server/discover` is its stateless counterpart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY
from mcp_types.version import LATEST_MODERN_VERSION

from bench import BenchError

VERSION = LATEST_MODERN_VERSION  # "2026-07-28"
META = {
    PROTOCOL_VERSION_META_KEY: VERSION,
    CLIENT_CAPABILITIES_META_KEY: {},
    CLIENT_INFO_META_KEY: {"name": "mcp-bench", "version": "0"},
}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    token: str | None = None

    def body(self) -> str:
        params = {**self.params, "_meta": META}
        return json.dumps({"jsonrpc": "2.0", "id": 1, "method": self.method, "params": params})

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": VERSION,
            "Mcp-Method": self.method,
        }
        if self.method == "tools/call":
            headers["Mcp-Name"] = self.params["name"]
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def describe(self) -> str:
        return f"tools/call {self.params['name']}" if self.method == "tools/call" else self.method


def discover(token: str | None = None) -> Call:
    return Call("server/discover", token=token)


def tool(name: str, arguments: dict[str, Any], token: str | None = None) -> Call:
    return Call("tools/call", {"name": name, "arguments": arguments}, token)


def send(url: str, call: Call) -> dict[str, Any]:
    """One request with httpx; its JSON-RPC result, or BenchError naming what came back instead.
    The same test the wrk script applies to every response (bench/post.lua)."""
    response = httpx.post(url, content=call.body(), headers=call.headers(), timeout=10)
    try:
        message = response.json()
    except ValueError:
        message = None
    result = message.get("result") if isinstance(message, dict) else None
    if response.status_code != 200 or not isinstance(result, dict) or result.get("isError"):
        raise BenchError(
            f"{call.describe()} to {url} did not succeed: HTTP {response.status_code}\n{response.text[:800]}"
        )
    return result
