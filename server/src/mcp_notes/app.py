"""The ASGI app: the MCP transport at /mcp, probes, metrics, and the layers around them.

Edge (log line, metrics, request id, JSON-RPC error bodies)
  Starlette routes: /health /ready /metrics /.well-known/oauth-protected-resource/mcp
  Mount "/" -> SDK app: AuthenticationMiddleware -> Guard (rate limit, scopes) -> /mcp
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer, RequestStateSecurity
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from mcp_notes import telemetry, tools
from mcp_notes.auth.jwks import JwksCache
from mcp_notes.auth.tokens import TokenValidator
from mcp_notes.auth.verifier import Verifier
from mcp_notes.http.bearer import Bearer
from mcp_notes.http.drain import Drain
from mcp_notes.http.edge import Edge
from mcp_notes.http.gate import Gate
from mcp_notes.http.guard import Guard
from mcp_notes.http.request_info import current
from mcp_notes.metrics import Metrics
from mcp_notes.runtime import Runtime
from mcp_notes.settings import Settings

log = logging.getLogger(__name__)

SERVER_NAME = "mcp-notes"  # also the request-state audience: every replica must use the same


async def observe(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """SDK middleware: the JSON-RPC outcome of each request, for the request log and metrics."""
    info = current()
    if info is not None:  # before the call, so a failed request is logged under its own name
        info.method = info.method or ctx.method[:64]
        name = (ctx.params or {}).get("name") if ctx.method == "tools/call" else None
        info.tool = info.tool or (name[:64] if isinstance(name, str) else "")
    try:
        result = await call_next(ctx)
    except MCPError as error:
        if info is not None:
            info.outcome, info.rpc_code = "rpc_error", error.code
        raise
    except ValueError as error:
        if ctx.method != "prompts/get":
            raise
        # The SDK's way of saying "no such prompt": the caller's mistake, not a crash to log.
        if info is not None:
            info.outcome, info.rpc_code = "rpc_error", INVALID_PARAMS
        raise MCPError(code=INVALID_PARAMS, message=str(error)[:200]) from None
    if info is not None:
        info.outcome = "tool_error" if isinstance(result, dict) and result.get("isError") else "ok"
    return result


def create_app(settings: Settings) -> Edge:
    metrics = Metrics()
    drain = Drain()
    runtime = Runtime(settings)
    deps = tools.Deps(note_max_bytes=settings.note_max_bytes, auth_enabled=settings.auth_enabled)
    jwks = (
        JwksCache(settings.auth_issuer, settings.auth_jwks_url, ttl_seconds=settings.auth_jwks_ttl_seconds)
        if settings.auth_issuer
        else None
    )
    server = _mcp_server(settings)
    telemetry.trace_mcp_server(server.middleware)
    tools.register(server, deps)
    limiter = runtime.limiter  # local from the start; shares through Redis once the runtime opens
    metrics.watch_dependencies(runtime.dependencies)

    # Builds server.session_manager, the transport; the Starlette app around it is not used:
    # /mcp goes Edge -> Bearer -> Guard -> transport, without the SDK's router and middleware.
    server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,  # any replica answers any request, for old and new clients alike
        json_response=True,
        max_request_body_size=settings.max_request_bytes,
        transport_security=TransportSecuritySettings(
            # "*": behind the gateway, on a private address only the gateway can reach, the Host is
            # whatever name that network gives us; the browser checks belong to the gateway.
            enable_dns_rebinding_protection=settings.allowed_hosts != ["*"],
            allowed_hosts=settings.hosts,
            allowed_origins=settings.origins,
        ),
    )
    scope_for_tool = {name: settings.auth_read_scope for name in tools.READ_TOOLS}
    scope_for_tool |= {name: settings.auth_write_scope for name in tools.WRITE_TOOLS}
    metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.mcp_url)))
    mcp: ASGIApp = Guard(
        StreamableHTTPASGIApp(server.session_manager),
        limiter=limiter,
        scope_for_tool=scope_for_tool,
        read_scope=settings.auth_read_scope,
        resource_metadata_url=metadata_url,
        auth_enabled=settings.auth_enabled,
    )
    if jwks is not None:
        mcp = Bearer(mcp, _verifier(settings, jwks), metadata_url)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if jwks is not None:
            jwks.warm()  # in the background: a slow issuer must not delay startup
        await runtime.open()
        deps.store = runtime.store
        deps.cache = runtime.cache
        assert runtime.store is not None
        metrics.watch_pool(runtime.store.in_use)
        _announce(settings, runtime)
        try:
            async with server.session_manager.run():
                yield
        finally:
            drain.begin()
            await runtime.close()
            if jwks is not None:
                await jwks.close()

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        if drain.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        checks = await runtime.checks()
        failed = sorted(name for name, result in checks.items() if result != "ok")
        body = {
            "status": "unavailable" if failed else "ready",
            "checks": checks,
            "failed": failed,
            "degraded": runtime.degraded(),  # down, but served without: never a reason for 503
        }
        return JSONResponse(body, status_code=503 if failed else 200)

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", prometheus),
    ]
    if settings.auth_issuer is not None:
        # Ours, ahead of the SDK's, to advertise both scopes (the SDK lists only required ones).
        routes += create_protected_resource_routes(
            resource_url=AnyHttpUrl(settings.mcp_url),
            authorization_servers=[AnyHttpUrl(settings.auth_issuer)],
            scopes_supported=[settings.auth_read_scope, settings.auth_write_scope],
            resource_name="mcp-notes knowledge base",
        )
    app = Starlette(routes=routes, lifespan=lifespan)
    return Edge(
        app,
        mcp,
        metrics,
        tools.READ_TOOLS | tools.WRITE_TOOLS,
        gate=Gate(settings.max_concurrent_requests, settings.queue_seconds),
        drain=drain,
        max_body=settings.max_request_bytes,
    )


def _mcp_server(settings: Settings) -> MCPServer[Any]:
    """The SDK server without its own auth: Bearer (http/bearer.py) checks tokens in front."""
    keys = settings.request_state_key.get_secret_value().split(",") if settings.request_state_key else None
    state = RequestStateSecurity(keys=keys) if keys else RequestStateSecurity.ephemeral()
    return MCPServer(
        name=SERVER_NAME,
        version="0.1.0",
        instructions="A team knowledge base: create, search and update your notes.",
        log_level=settings.log_level,
        request_state_security=state,
        middleware=[observe],
    )


def _verifier(settings: Settings, jwks: JwksCache) -> Verifier:
    assert settings.auth_issuer is not None and settings.audience is not None
    validator = TokenValidator(
        jwks,
        issuer=settings.auth_issuer,
        audience=settings.audience,
        algorithms=settings.auth_algorithms,
        leeway_seconds=settings.auth_leeway_seconds,
        tenant_claim=settings.auth_tenant_claim,
    )
    return Verifier(validator, settings.mcp_url)


def _announce(settings: Settings, runtime: Runtime) -> None:
    assert runtime.store is not None
    log.info(
        "serving",
        extra={
            "url": settings.mcp_url,
            "database": runtime.store.backend,
            "shared_state": "redis" if runtime.redis is not None else "in-process",
            "auth": "on" if settings.auth_enabled else "off",
            "started_at": time.time(),
        },
    )
    if not settings.auth_enabled:
        log.warning(
            "AUTHENTICATION IS OFF: anyone who can reach %s can read and change every note. "
            "This is allowed only on a loopback address; set AUTH_ISSUER for anything else.",
            settings.mcp_url,
        )
    if settings.request_state_key is None:
        log.warning("MCP_REQUEST_STATE_KEY is not set: multi-round-trip requests work on this replica only")
