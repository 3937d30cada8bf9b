"""The gateway as one ASGI app.

Edge (request id, security headers, CORS, log line, metrics, JSON-RPC 500)
  /health /ready /metrics                                 probes
  /.well-known/jwks.json                                  the keys upstream tokens are signed with
  /.well-known/oauth-protected-resource/<name>/mcp        RFC 9728 metadata per route
  /<name>/mcp[/...]                                       RoutePipeline -> the route's upstream
  anything else                                           404, JSON-RPC
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from starlette.types import Message, Receive, Scope, Send

from mcp_gateway import proxy, tracing
from mcp_gateway.access import RouteAccess
from mcp_gateway.edge import Edge
from mcp_gateway.google_id import GoogleIdTokens
from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.pipeline import RoutePipeline
from mcp_gateway.replies import json_reply, rpc_error
from mcp_gateway.settings import GatewaySettings
from mcp_gateway.sticky import SessionMap
from mcp_gateway.upstream_tokens import UpstreamTokens, load_key
from mcp_notes.auth.jwks import JwksCache
from mcp_notes.http.drain import Drain
from mcp_notes.shared.health import DependencyHealth
from mcp_notes.shared.limiter import GcraLimiter
from mcp_notes.shared.redis_link import RedisLink, open_redis

log = logging.getLogger("mcp_gateway")

METADATA_PREFIX = "/.well-known/oauth-protected-resource/"


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        s = settings
        self.settings = s
        self.drain = Drain()
        self.metrics = GatewayMetrics()
        self.limiter = GcraLimiter(s.rate_limit_per_minute, s.redis_sync_seconds)
        self.sessions = SessionMap(s.session_ttl_seconds, s.redis_key_prefix)
        self.redis_health = DependencyHealth("redis") if s.redis_url is not None else None
        self.metrics.watch_dependencies([self.redis_health] if self.redis_health else [])
        self._link: RedisLink | None = None
        key = load_key(s.signing_key.get_secret_value() if s.signing_key else None)
        self.tokens = UpstreamTokens(key, s.upstream_issuer, s.upstream_token_seconds, s.auth_tenant_claim)
        self.jwks = (
            JwksCache(s.auth_issuer, s.auth_jwks_url, ttl_seconds=s.auth_jwks_ttl_seconds)
            if s.auth_issuer
            else None
        )
        self.upstreams = proxy.Upstreams(
            s.upstream_connect_timeout, s.upstream_idle_timeout, s.upstream_pool_size
        )
        needs_id_tokens = any(r.auth == "google-id-token" for r in s.routes.values())
        self.id_tokens = GoogleIdTokens() if needs_id_tokens else None
        self.pipelines: dict[str, RoutePipeline] = {}
        self.metadata: dict[str, bytes] = {}
        for name, route in s.routes.items():
            access = RouteAccess(route, s, self.jwks) if self.jwks is not None else None
            self.pipelines[name] = RoutePipeline(
                route,
                s,
                access=access,
                limiter=self.limiter,
                tokens=self.tokens,
                id_tokens=self.id_tokens,
                sessions=self.sessions,
                upstreams=self.upstreams,
                metrics=self.metrics,
            )
            if s.auth_issuer is not None:
                self.metadata[route.metadata_path] = orjson.dumps(
                    {
                        "resource": route.public_url(s.public),
                        "authorization_servers": [s.auth_issuer],
                        "scopes_supported": list(route.scopes),
                        "bearer_methods_supported": ["header"],
                        "resource_name": name,
                    }
                )

    async def open(self) -> None:
        if self.jwks is not None:
            self.jwks.warm()
        if self.redis_health is not None:
            self._link = RedisLink(open_redis(self.settings), self.settings, self.redis_health)
            await self._link.check()  # down at start: a warning and per-replica state, not a failed start
            self.limiter.share(self._link, f"{self.settings.redis_key_prefix}rl:")
            self.sessions.share(self._link)
        log.info(
            "serving",
            extra={
                "url": self.settings.public,
                "routes": {n: r.upstream + r.path for n, r in self.settings.routes.items()},
                "auth": "on" if self.settings.auth_enabled else "off",
                "shared_state": "redis" if self._link is not None else "in-process",
                "started_at": time.time(),
            },
        )
        if not self.settings.auth_enabled:
            log.warning(
                "AUTHENTICATION IS OFF: every route is open to anyone who reaches %s", self.settings.public
            )

    async def close(self) -> None:
        self.drain.begin()
        await self.limiter.close()
        if self._link is not None:
            await self._link.close()
        if self.jwks is not None:
            await self.jwks.close()
        if self.id_tokens is not None:
            await self.id_tokens.close()
        await self.upstreams.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        name, _, rest = path[1:].partition("/")
        pipeline = self.pipelines.get(name)
        if pipeline is not None and (rest == "mcp" or rest.startswith("mcp/")):
            await self._route(pipeline, scope, receive, send, rest[3:])
            return
        if scope["method"] not in ("GET", "HEAD"):
            await rpc_error(send, 404, "No such route")
            return
        if path == "/health":
            await json_reply(send, 200, {"status": "ok"})
        elif path == "/ready":
            await self._ready(send)
        elif path == "/metrics" and _came_through_the_edge(scope):
            # Load balancers and Gateway API proxies add X-Forwarded-For; Prometheus, scraping the
            # private address, does not. The public entry forwards every path to us (the ALB, the
            # URL map, an Ingress cannot all refuse one), so the refusal has to be ours.
            await rpc_error(send, 404, "No such route")
        elif path == "/metrics":
            body = self.metrics.render()
            headers = [
                (b"content-type", b"text/plain; version=0.0.4"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif path == "/.well-known/jwks.json":
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(self.tokens.jwks)).encode()),
                (b"cache-control", b"max-age=300"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": self.tokens.jwks})
        elif path.startswith(METADATA_PREFIX) and path.rstrip("/") in self.metadata:
            body = self.metadata[path.rstrip("/")]
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        else:
            await rpc_error(send, 404, "No such route")

    async def _route(
        self, pipeline: RoutePipeline, scope: Scope, receive: Receive, send: Send, rest: str
    ) -> None:
        started = False
        trace = tracing.begin(scope)  # None unless tracing is on

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            if trace is not None and message["type"] == "http.response.start":
                trace.status = message["status"]
            await send(message)

        task = self.drain.track()
        try:
            await pipeline(scope, receive, tracked, rest)
        except asyncio.CancelledError:
            if not self.drain.cutting:
                raise
            if not started:  # cut by the drain: a JSON-RPC 503, not uvicorn's plain-text 500
                await rpc_error(
                    send,
                    503,
                    "The gateway is shutting down; retry",
                    headers=[(b"retry-after", b"1")],
                    data={"retryable": True},
                )
        finally:
            self.drain.untrack(task)
            if trace is not None:
                trace.end()

    async def _ready(self, send: Send) -> None:
        if self.drain.draining:
            await json_reply(send, 503, {"status": "draining"})
            return
        degraded = {}
        if self.redis_health is not None and not self.redis_health.up:
            degraded["redis"] = self.redis_health.reason
        # Redis is a saving, not a need: limits and the session map fall back per replica.
        await json_reply(send, 200, {"status": "ready", "degraded": degraded})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.open()
                except Exception as error:  # noqa: BLE001 - reported to uvicorn, which stops
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: GatewaySettings) -> tuple[Edge, Gateway]:
    gateway = Gateway(settings)
    return Edge(gateway, gateway.metrics, settings.allowed_origins), gateway


def _came_through_the_edge(scope: Scope) -> bool:
    return any(name == b"x-forwarded-for" for name, _ in scope["headers"])
