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
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer, RequestStateSecurity
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from mcp_notes import tools
from mcp_notes.auth.jwks import JwksCache
from mcp_notes.auth.tokens import TokenValidator
from mcp_notes.auth.verifier import Verifier
from mcp_notes.http.edge import Edge
from mcp_notes.http.guard import Guard
from mcp_notes.http.request_info import current
from mcp_notes.metrics import Metrics
from mcp_notes.runtime import Runtime
from mcp_notes.settings import Settings
from mcp_notes.shared.search_cache import MemorySearchCache, RedisSearchCache
from mcp_notes.shared.wiring import LazyLimiter

log = logging.getLogger(__name__)

SERVER_NAME = "mcp-notes"  # also the request-state audience: every replica must use the same


async def observe(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """SDK middleware: the JSON-RPC outcome of each request, for the request log and metrics."""
    info = current()
    try:
        result = await call_next(ctx)
    except MCPError as error:
        if info is not None:
            info.outcome, info.rpc_code = "rpc_error", error.code
        raise
    except Exception:
        if info is not None:
            info.outcome, info.rpc_code = "rpc_error", -32602  # invalid params, as the SDK answers
        raise
    if info is not None:
        info.method = info.method or ctx.method
        name = (ctx.params or {}).get("name") if ctx.method == "tools/call" else None
        info.tool = info.tool or (name[:64] if isinstance(name, str) else "")
        info.outcome = "tool_error" if isinstance(result, dict) and result.get("isError") else "ok"
    return result


def create_app(settings: Settings) -> Starlette | Edge:
    metrics = Metrics()
    runtime = Runtime(settings)
    deps = tools.Deps(note_max_bytes=settings.note_max_bytes, auth_enabled=settings.auth_enabled)
    jwks = JwksCache(settings.auth_issuer, settings.auth_jwks_url) if settings.auth_issuer else None
    server = _mcp_server(settings, jwks)
    tools.register(server, deps)
    limiter = LazyLimiter(settings, runtime)

    mcp_app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,  # any replica answers any request, for old and new clients alike
        json_response=True,
        max_request_body_size=settings.max_request_bytes,
        transport_security=TransportSecuritySettings(
            allowed_hosts=settings.hosts, allowed_origins=settings.origins
        ),
    )
    scope_for_tool = {name: settings.auth_read_scope for name in tools.READ_TOOLS}
    scope_for_tool |= {name: settings.auth_write_scope for name in tools.WRITE_TOOLS}
    metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.mcp_url)))
    mcp_app.user_middleware.append(
        Middleware(
            Guard,
            limiter=limiter,
            scope_for_tool=scope_for_tool,
            read_scope=settings.auth_read_scope,
            resource_metadata_url=metadata_url,
            max_body=settings.max_request_bytes,
        )
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.open()
        deps.store = runtime.store
        deps.cache = (
            RedisSearchCache(runtime.redis, settings.search_cache_seconds, f"{settings.redis_key_prefix}sc:")
            if runtime.redis is not None
            else MemorySearchCache(settings.search_cache_seconds)
        )
        assert runtime.store is not None
        metrics.watch_pool(runtime.store.in_use)
        _announce(settings, runtime)
        try:
            async with server.session_manager.run():
                yield
        finally:
            runtime.draining = True
            await runtime.close()
            if jwks is not None:
                await jwks.close()

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        if runtime.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        checks = await runtime.checks()
        failed = sorted(name for name, result in checks.items() if result != "ok")
        body = {"status": "unavailable" if failed else "ready", "checks": checks, "failed": failed}
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
    routes.append(Mount("/", app=mcp_app))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    return Edge(app, metrics, tools.READ_TOOLS | tools.WRITE_TOOLS)


def _mcp_server(settings: Settings, jwks: JwksCache | None) -> MCPServer[Any]:
    keys = settings.request_state_key.get_secret_value().split(",") if settings.request_state_key else None
    state = RequestStateSecurity(keys=keys) if keys else RequestStateSecurity.ephemeral()
    common: dict[str, Any] = {
        "name": SERVER_NAME,
        "version": "0.1.0",
        "instructions": "A team knowledge base: create, search and update your notes.",
        "log_level": settings.log_level,
        "request_state_security": state,
        "middleware": [observe],
    }
    if jwks is None:
        return MCPServer(**common)
    assert settings.auth_issuer is not None and settings.audience is not None
    validator = TokenValidator(
        jwks,
        issuer=settings.auth_issuer,
        audience=settings.audience,
        algorithms=settings.auth_algorithms,
        leeway_seconds=settings.auth_leeway_seconds,
        tenant_claim=settings.auth_tenant_claim,
    )
    return MCPServer(
        **common,
        token_verifier=Verifier(validator, settings.mcp_url),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(settings.auth_issuer),
            resource_server_url=AnyHttpUrl(settings.mcp_url),
            required_scopes=None,  # per tool, in Guard
            validate_token_resource=True,
        ),
    )


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
