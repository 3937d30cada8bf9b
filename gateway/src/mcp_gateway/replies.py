"""Answers the gateway makes itself: every refusal is a JSON-RPC error body (MCP clients parse
JSON-RPC), with the HTTP status the protocol expects."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Send

Header = tuple[bytes, bytes]

# Server-defined JSON-RPC codes, as the reference server uses them.
CODES = {401: -32001, 403: -32003, 404: -32001, 429: -32029}
INTERNAL_ERROR = -32603
INVALID_REQUEST = -32600


def rpc_code(status: int) -> int:
    return INTERNAL_ERROR if status >= 500 else CODES.get(status, INVALID_REQUEST)


async def rpc_error(
    send: Send,
    status: int,
    message: str,
    *,
    headers: list[Header] | None = None,
    data: dict[str, Any] | None = None,
    code: int | None = None,
    request_id: Any = None,
) -> None:
    error: dict[str, Any] = {"code": code if code is not None else rpc_code(status), "message": message}
    if data:
        error["data"] = data
    await json_reply(send, status, {"jsonrpc": "2.0", "id": request_id, "error": error}, headers)


async def json_reply(send: Send, status: int, payload: Any, headers: list[Header] | None = None) -> None:
    body = orjson.dumps(payload)
    raw = [
        *(headers or []),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
