"""After authentication, before the MCP transport: who is calling, whether their budget allows
another request, and whether their token's scopes allow this tool.

It sits after Bearer (http/bearer.py), which has put the verified token in scope["user"] or
already answered 401. It reads the body the edge stashed (http/body.py) and reads nothing
itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_notes.http.body import stashed
from mcp_notes.http.request_info import current
from mcp_notes.shared.limiter import RateLimiter


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        scope_for_tool: Mapping[str, str],
        read_scope: str,
        resource_metadata_url: str,
        auth_enabled: bool = True,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.scope_for_tool = scope_for_tool
        self.read_scope = read_scope
        self.resource_metadata_url = resource_metadata_url
        self.auth_enabled = auth_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        # Auth off (a loopback dev server) still gets the same checks and limits, per address.
        user = user if isinstance(user, AuthenticatedUser) else None
        if scope["type"] != "http" or scope["method"] != "POST" or (user is None and self.auth_enabled):
            await self.app(scope, receive, send)
            return
        body, over_limit = stashed(scope)  # read once, by the edge
        message = _json_rpc(body) if not over_limit else None
        info = current()
        method, tool = _method_and_tool(message)
        if info is not None:
            info.subject = user.access_token.subject or "" if user is not None else ""
            info.method, info.tool = method, tool

        refusal = self._malformed(scope, message, method, tool)
        if refusal is not None:
            status, payload = refusal
            if info is not None:
                info.outcome, info.rpc_code = "rpc_error", payload["error"]["code"]
            await _reply(send, status, payload, {})
            return

        decision = await self.limiter.hit(_limit_key(user) if user is not None else _address_key(scope))
        if not decision.allowed:
            await _reply(
                send,
                429,
                _rpc_error(
                    message,
                    -32029,
                    "Rate limit exceeded; slow down",
                    {"retry_after_seconds": decision.retry_after_seconds},
                ),
                {"retry-after": str(decision.retry_after_seconds)},
            )
            return

        needed = self._needed_scope(method, tool) if user is not None else None
        if user is not None and needed is not None and needed not in user.scopes:
            if info is not None:
                info.auth_failure = "insufficient_scope"
            what = f"tool {tool}" if tool else method
            challenge = (
                f'Bearer error="insufficient_scope", scope="{needed}", '
                f'error_description="{what} needs the {needed} scope", '
                f'resource_metadata="{self.resource_metadata_url}"'
            )
            await _reply(
                send,
                403,
                _rpc_error(
                    message,
                    -32003,
                    f"insufficient_scope: {what} needs {needed}",
                    {"required_scopes": [needed]},
                ),
                {"www-authenticate": challenge},
            )
            return

        await self.app(scope, receive, send)

    def _malformed(
        self, scope: Scope, message: dict[str, Any] | None, method: str, tool: str
    ) -> tuple[int, dict[str, Any]] | None:
        """Requests the SDK would not answer as MCP asks: ids that are not strings or integers
        (it treats a null id as a notification), and tools that do not exist (it answers with a
        tool result, where the protocol wants error -32602)."""
        if message is None or "method" not in message:
            return None
        request_id = message.get("id", 0)
        if "id" in message and (isinstance(request_id, bool) or not isinstance(request_id, (str, int))):
            return 400, _rpc_error(None, -32600, "Invalid request: id must be a string or an integer", {})
        params = message.get("params")
        named = isinstance(params, dict) and isinstance(params.get("name"), str)
        if method == "tools/call" and named and tool not in self.scope_for_tool:
            modern = _header(scope, b"mcp-protocol-version") not in ("", *HANDSHAKE_PROTOCOL_VERSIONS)
            return (400 if modern else 200), _rpc_error(
                message, -32602, f"Unknown tool: {tool}", {"tool": tool}
            )
        return None

    def _needed_scope(self, method: str, tool: str) -> str | None:
        if method == "tools/call":
            return self.scope_for_tool.get(tool)  # unknown tools: the SDK says so, no scope needed
        if method == "resources/read":
            return self.read_scope
        return None


def _header(scope: Scope, name: bytes) -> str:
    return next((v.decode(errors="replace") for k, v in scope.get("headers", []) if k == name), "")


def _limit_key(user: AuthenticatedUser) -> str:
    """The owner, as JSON: no tenant or subject a token carries can make two owners collide."""
    token = user.access_token
    tenant = str((token.claims or {}).get("tenant") or "")
    return json.dumps([tenant, token.subject or ""])


def _address_key(scope: Scope) -> str:
    client = scope.get("client")
    return f"address:{client[0] if client else '-'}"


def _json_rpc(body: bytes) -> dict[str, Any] | None:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:  # also what orjson raises past 1024 levels of nesting
        return None
    return message if isinstance(message, dict) else None


def _method_and_tool(message: dict[str, Any] | None) -> tuple[str, str]:
    if message is None:
        return "", ""
    method = message.get("method")
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    method = method if isinstance(method, str) else ""
    return method[:64], name[:64] if method == "tools/call" and isinstance(name, str) else ""


def _rpc_error(message: dict[str, Any] | None, code: int, text: str, data: dict[str, Any]) -> dict[str, Any]:
    request_id = message.get("id") if message is not None else None
    if not isinstance(request_id, (str, int)):
        request_id = None
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": text, "data": data}}


async def _reply(send: Send, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
