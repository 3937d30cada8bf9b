"""The ASGI app: /mcp (the SDK's streamable HTTP transport over the forwarding server), /health,
/ready and /metrics, inside one edge layer that logs and counts every request and keeps sticky
sessions bound to their child processes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_bridge.children import Children, Session, Unavailable
from mcp_bridge.forward import EXCHANGE_KEY, SESSION_KEY, Bridge, Exchange
from mcp_bridge.metrics import BridgeMetrics
from mcp_bridge.replies import rpc_error
from mcp_bridge.settings import BridgeSettings, child_environment
from mcp_notes import telemetry
from mcp_notes.http.drain import Drain
from mcp_notes.logs import LineWriter

log = logging.getLogger("mcp_bridge")
request_log = LineWriter("mcp_bridge.request")

_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)
SESSION_HEADER = MCP_SESSION_ID_HEADER.lower().encode()
# How long a client refused for want of a process should wait: about one child's start.
RETRY_AFTER_SECONDS = 2
MESSAGES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable: send Accept: application/json, text/event-stream",
    413: "Request body too large",
    415: "Unsupported media type: send Content-Type: application/json",
    421: "Host not allowed",
}


def create_app(settings: BridgeSettings, env: dict[str, str] | None = None) -> tuple[ASGIApp, Drain]:
    metrics = BridgeMetrics(settings.name)
    drain = Drain()
    children = Children(
        settings.name,
        settings.argv,
        child_environment(dict(os.environ) if env is None else env),
        metrics,
        pool_size=settings.pool_size,
        max_processes=settings.max_processes,
        start_seconds=settings.start_seconds,
        idle_seconds=settings.idle_seconds,
    )
    metrics.watch_children(children.snapshot)
    bridge = Bridge(settings.name, children, settings.request_seconds)
    telemetry.trace_mcp_server(bridge.middleware)
    sticky = settings.sessions == "sticky"
    bridge.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=not sticky,
        json_response=False,  # SSE, so a call's progress notifications reach the caller before its result
        max_request_body_size=settings.max_request_bytes,
        # Ours reaps first (and ends the child); the SDK's forgets the transport a little later.
        session_idle_timeout=settings.idle_seconds + 5,
        max_sessions=None,  # bounded by BRIDGE_MAX_PROCESSES in Edge, with Retry-After
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=bool(settings.allowed_hosts),
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=[],
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info(
            "serving",
            extra={
                "server": settings.name,
                "url": f"http://{settings.host}:{settings.port}/mcp",
                "sessions": settings.sessions,
                "pool_size": settings.pool_size,
                "max_processes": settings.max_processes,
                "command": settings.argv[:3],
            },
        )
        async with children.running(), anyio.create_task_group() as tg:

            async def mirror_first() -> None:
                await children.first_ready.wait()
                if bridge.mirrored is None and children.first_result is not None:
                    bridge.mirror(children.first_result)

            tg.start_soon(mirror_first)
            async with bridge.session_manager.run():
                try:
                    yield
                finally:
                    drain.begin()
                    tg.cancel_scope.cancel()

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        if drain.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        if not children.ready:
            return JSONResponse({"status": "starting", "children": len(children.live)}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    probes = Starlette(
        routes=[Route("/health", health), Route("/ready", ready), Route("/metrics", prometheus)],
        lifespan=lifespan,
    )
    edge = Edge(
        probes,
        StreamableHTTPASGIApp(bridge.session_manager),
        children,
        metrics,
        drain,
        sticky,
        settings.max_request_bytes,
    )
    return edge, drain


class Edge:
    def __init__(
        self,
        probes: ASGIApp,
        mcp: ASGIApp,
        children: Children,
        metrics: BridgeMetrics,
        drain: Drain,
        sticky: bool,
        max_body: int,
    ) -> None:
        self.max_body = max_body
        self.probes = probes
        self.mcp = mcp
        self.children = children
        self.metrics = metrics
        self.drain = drain
        self.sticky = sticky

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/mcp":
            await self.probes(scope, receive, send)
            return
        exchange = Exchange(request_id=f"{_ID_PREFIX}-{next(_ID_COUNTER)}")
        scope[EXCHANGE_KEY] = exchange
        started = time.perf_counter()
        status = 0
        response_started = False

        rewrite = False

        async def watched(message: Message) -> None:
            nonlocal status, response_started, rewrite
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                content_type = _header_in(message.get("headers", []), b"content-type") or ""
                # The SDK refuses some requests in plain text (415, 405, ...): MCP clients parse
                # JSON-RPC, so the body is replaced, the status kept.
                rewrite = status >= 400 and not content_type.startswith("application/json")
                if rewrite:
                    return
            elif rewrite and message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await rpc_error(send, status, MESSAGES.get(status, "Request refused"))
                return
            await send(message)

        task = self.drain.track()
        try:
            await self._serve(scope, receive, watched, exchange)
        except asyncio.CancelledError:
            if not self.drain.cutting:
                raise
            exchange.outcome = "drain_cut"
            if not response_started:
                await rpc_error(
                    watched, 503, "The server is restarting; retry", retry_after=RETRY_AFTER_SECONDS
                )
        except Exception:
            log.exception("request failed", extra={"request_id": exchange.request_id})
            exchange.outcome = "bridge_error"
            if not response_started:
                await rpc_error(watched, 500, "Internal error")
        finally:
            self.drain.untrack(task)
            seconds = time.perf_counter() - started
            self.metrics.count(exchange.method, exchange.outcome or f"http_{status}", seconds)
            request_log.write(
                logging.INFO,
                "request",
                {
                    "request_id": exchange.request_id,
                    "server": self.children.server,
                    "http_method": scope["method"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "rpc_method": exchange.method or None,
                    "tool": exchange.tool or None,
                    "outcome": exchange.outcome or None,
                    "rpc_code": exchange.rpc_code,
                    "pid": exchange.pid or None,
                    "session": exchange.session or None,
                },
            )

    async def _serve(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        body, receive = await _peek_body(scope, receive, self.max_body)
        rpc = _rpc(body)
        exchange.method = str(rpc.get("method", ""))[:64] if rpc else ""
        if not self.sticky or _modern(scope):
            await self.mcp(scope, receive, send)
            return
        session_id = _header(scope, SESSION_HEADER)
        if session_id is not None:
            session = self.children.sessions.get(session_id)
            if session is None:  # reaped for idleness, deleted, or never ours
                exchange.outcome = "session_gone"
                await rpc_error(send, 404, "Session not found")
                return
            await self._in_session(session, scope, receive, send, exchange)
            return
        if scope["method"] == "POST" and exchange.method == "initialize":
            await self._open_session(scope, receive, send, exchange)
            return
        await self.mcp(scope, receive, send)

    async def _in_session(
        self, session: Session, scope: Scope, receive: Receive, send: Send, exchange: Exchange
    ) -> None:
        exchange.session = session.id[:12]
        scope[SESSION_KEY] = session
        session.active += 1
        session.last_seen = time.monotonic()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.mcp(scope, receive, watched)
        finally:
            session.active -= 1
            session.last_seen = time.monotonic()
        if scope["method"] == "DELETE" and status < 300:
            self.children.end(session, "session_deleted")

    async def _open_session(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        if not self.children.admit():
            exchange.outcome = "at_capacity"
            await rpc_error(
                send,
                503,
                "Too many sessions: no server process free; retry later",
                retry_after=RETRY_AFTER_SECONDS,
            )
            return
        try:
            child = await self.children.take()
        except Unavailable as error:
            exchange.outcome = "unavailable"
            await rpc_error(
                send, 503, f"Server unavailable: {error}; retry later", retry_after=RETRY_AFTER_SECONDS
            )
            return
        exchange.pid = child.pid
        session_id: str | None = None
        status = 0

        async def watched(message: Message) -> None:
            nonlocal session_id, status
            if message["type"] == "http.response.start":
                status = message["status"]
                session_id = _header_in(message.get("headers", []), SESSION_HEADER)
                if session_id is not None and status < 400:
                    # Bound before the client can learn the id and use it.
                    self.children.bind(session_id, child).last_seen = time.monotonic()
            await send(message)

        try:
            await self.mcp(scope, receive, watched)
        finally:
            if session_id is None or status >= 400:
                self.children.release(child)
        exchange.session = (session_id or "")[:12]


async def _peek_body(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, Receive]:
    """The body of a POST, read once (up to the limit) and replayed to the SDK, which reads on
    past the limit and answers 413."""
    if scope["method"] != "POST":
        return b"", receive
    chunks: list[bytes] = []
    more = True
    size = 0
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if size > limit:
            break
    body = b"".join(chunks)
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return body, replayed


def _rpc(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _modern(scope: Scope) -> bool:
    version = _header(scope, b"mcp-protocol-version")
    return version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS


def _header(scope: Scope, name: bytes) -> str | None:
    return _header_in(scope["headers"], name)


def _header_in(headers: Any, name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
