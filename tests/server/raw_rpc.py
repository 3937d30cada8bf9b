"""Raw JSON-RPC over HTTP, for tests that need every status and header a client would see
(the official client turns most of them into exceptions)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def tool_call(name: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": META},
    }


def headers(token: str | None, body: dict[str, Any]) -> dict[str, str]:
    sent = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": str(body.get("method")),
    }
    name = (body.get("params") or {}).get("name")
    if isinstance(name, str):
        sent["mcp-name"] = name
    if token:
        sent["authorization"] = f"Bearer {token}"
    return sent


@dataclass
class Answer:
    status: int
    retry_after: str | None
    body: Any

    @property
    def error(self) -> dict[str, Any] | None:
        return self.body.get("error") if isinstance(self.body, dict) else None

    @property
    def result(self) -> dict[str, Any] | None:
        return self.body.get("result") if isinstance(self.body, dict) else None


async def send(http: httpx.AsyncClient, url: str, token: str | None, body: dict[str, Any]) -> Answer:
    response = await http.post(url, content=json.dumps(body).encode(), headers=headers(token, body))
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text
    return Answer(response.status_code, response.headers.get("retry-after"), payload)
