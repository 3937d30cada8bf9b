"""The outermost layer: a request id, security headers and CORS on every response, one JSON
log line and one metrics sample per request, and a JSON-RPC 500 (never a traceback) for
anything that escapes.

CORS: a preflight (OPTIONS with Access-Control-Request-Method) is answered here, before any
auth, for origins in GATEWAY_ALLOWED_ORIGINS; responses to allowed origins expose the MCP
headers a browser client must read."""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.replies import rpc_error
from mcp_notes.logs import LineWriter

log = logging.getLogger("mcp_gateway")
request_log = LineWriter("mcp_gateway.request")

PROBES = frozenset({"/health", "/ready", "/metrics"})
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SECURITY_HEADERS = [
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
EXPOSED = b"Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Retry-After, X-Request-Id"
ALLOWED_HEADERS = (
    b"Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Name, "
    b"Last-Event-ID, traceparent, tracestate"
)
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


@dataclass
class Exchange:
    """What one request turned out to be, filled in by whichever layer learns it."""

    request_id: str
    route: str = "-"
    method: str = ""
    tool: str = ""
    subject: str = ""
    outcome: str = ""
    auth_failure: str = ""
    upstream: str = ""


class Edge:
    def __init__(self, app: ASGIApp, metrics: GatewayMetrics, allowed_origins: list[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.any_origin = "*" in allowed_origins
        self.origins = frozenset(o.encode() for o in allowed_origins if o != "*")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(request_id=_request_id(scope))
        scope["gateway.exchange"] = exchange
        started = time.perf_counter()
        origin = _header(scope, b"origin")
        allowed = origin is not None and (self.any_origin or origin in self.origins)
        extra = [*SECURITY_HEADERS, (b"x-request-id", exchange.request_id.encode())]
        if allowed:
            assert origin is not None
            extra += [
                (b"access-control-allow-origin", origin),
                (b"access-control-expose-headers", EXPOSED),
                (b"vary", b"Origin"),
            ]
        status = 500
        started_response = False

        async def wrapped(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
                await self._preflight(allowed, wrapped)
            else:
                await self.app(scope, receive, wrapped)
        except Exception:
            log.exception("unhandled error", extra={"request_id": exchange.request_id})
            if not started_response:
                await rpc_error(wrapped, 500, "Internal error")
        finally:
            self._record(scope, exchange, status, time.perf_counter() - started)

    async def _preflight(self, allowed: bool, send: Send) -> None:
        if not allowed:
            await send({"type": "http.response.start", "status": 403, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [
            (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-max-age", b"600"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _record(self, scope: Scope, exchange: Exchange, status: int, seconds: float) -> None:
        path = scope["path"]
        probe = path in PROBES
        if exchange.route != "-" or not probe:
            self.metrics.count(exchange.route, exchange.method, exchange.tool, status, seconds)
        if exchange.auth_failure:
            self.metrics.auth_failures.labels(exchange.route, exchange.auth_failure).inc()
        if status == 429:
            self.metrics.rate_limited.labels(exchange.route).inc()
        fields: dict[str, Any] = {
            "request_id": exchange.request_id,
            "http_method": scope["method"],
            "path": path,
            "route": exchange.route if exchange.route != "-" else None,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "subject": exchange.subject or None,
            "method": exchange.method or None,
            "tool": exchange.tool or None,
            "outcome": exchange.outcome or None,
            "auth_failure": exchange.auth_failure or None,
            "upstream": exchange.upstream or None,
            "traceparent": (_header(scope, b"traceparent") or b"").decode(errors="replace") or None,
        }
        request_log.write(logging.DEBUG if probe else logging.INFO, "request", fields)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _request_id(scope: Scope) -> str:
    """Keep a sane X-Request-Id from the load balancer, so logs join up; else make one."""
    value = _header(scope, b"x-request-id")
    if value is not None:
        text = value.decode(errors="replace")
        if REQUEST_ID.match(text):
            return text
    return f"{_ID_PREFIX}{next(_ID_COUNTER):x}"
