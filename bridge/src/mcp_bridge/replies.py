"""A JSON-RPC error body with an HTTP status: what every refusal of an MCP request looks like."""

from __future__ import annotations

import orjson
from starlette.types import Send


async def rpc_error(send: Send, status: int, message: str, *, retry_after: int | None = None) -> None:
    code = -32603 if status >= 500 else (-32600 if status != 404 else -32001)
    body = orjson.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
