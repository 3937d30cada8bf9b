"""One MCP request on one route, in order: auth (401/403/503), the rate limit (429), the body
(413), per-tool scopes (403), the upstream and its credentials, then the proxied exchange with
upstream failures as JSON-RPC 502/504, and sticky sessions pinned to their replica."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import orjson
from starlette.types import Receive, Scope, Send

from mcp_gateway import tracing
from mcp_gateway.access import Refusal, RouteAccess
from mcp_gateway.edge import Exchange
from mcp_gateway.google_id import GoogleIdTokens, IdTokenUnavailable
from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.proxy import (
    DROP_REQUEST,
    ClientGone,
    Target,
    UpstreamFailed,
    Upstreams,
    cancel_on_disconnect,
    open_upstream,
    stream_back,
)
from mcp_gateway.replies import rpc_error
from mcp_gateway.routes import Route
from mcp_gateway.settings import GatewaySettings
from mcp_gateway.sticky import Resolver, SessionMap
from mcp_gateway.upstream_tokens import UpstreamTokens
from mcp_notes.auth.tokens import Principal
from mcp_notes.shared.limiter import RateLimiter


class RoutePipeline:
    def __init__(
        self,
        route: Route,
        settings: GatewaySettings,
        *,
        access: RouteAccess | None,
        limiter: RateLimiter,
        tokens: UpstreamTokens,
        id_tokens: GoogleIdTokens | None,
        sessions: SessionMap,
        upstreams: Upstreams,
        metrics: GatewayMetrics,
    ) -> None:
        self.route = route
        self.settings = settings
        self.access = access
        self.limiter = limiter
        self.tokens = tokens
        self.id_tokens = id_tokens
        self.sessions = sessions
        self.upstreams = upstreams
        self.metrics = metrics
        self.resolver = (
            Resolver(route.upstream_host, route.upstream_port) if route.discovery == "dns" else None
        )
        self.scheme = route.upstream.split("://", 1)[0]
        self.host_header = route.upstream.split("://", 1)[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        exchange: Exchange = scope["gateway.exchange"]
        exchange.route = self.route.name
        method = scope["method"]
        if method not in ("GET", "POST", "DELETE"):
            await rpc_error(send, 405, "Method not allowed", headers=[(b"allow", b"GET, POST, DELETE")])
            return
        principal: Principal | None = None
        if self.access is not None:
            verdict = await self.access.authenticate(_header(scope, b"authorization"))
            if isinstance(verdict, Refusal):
                await self._refuse(send, exchange, verdict)
                return
            principal = verdict
            exchange.subject = principal.subject
        decision = await self.limiter.hit(self._limit_key(scope, principal))
        if not decision.allowed:
            retry = str(decision.retry_after_seconds).encode()
            await rpc_error(
                send,
                429,
                "Too many requests",
                headers=[(b"retry-after", retry)],
                data={"retryable": True, "retry_after_seconds": decision.retry_after_seconds},
            )
            return
        body: bytes | None = None
        if method == "POST":
            body = await self._read_body(receive)
            if body is None:
                exchange.outcome = "too_large"
                await rpc_error(send, 413, f"Request body over {self.settings.max_request_bytes} bytes")
                return
            message = _json_rpc(body)
            exchange.method, exchange.tool = _method_and_tool(message)
            named = _header(scope, b"mcp-name")
            if named is not None and exchange.tool and named.decode(errors="replace") != exchange.tool:
                await rpc_error(send, 400, "The Mcp-Name header and the request's tool name differ")
                return
            if principal is not None and self.access is not None:
                refusal = self.access.authorize(principal, exchange.tool)
                if refusal is not None:
                    await self._refuse(send, exchange, refusal, _request_id(message))
                    return
        elif principal is not None and self.access is not None:
            refusal = self.access.authorize(principal, "")
            if refusal is not None:
                await self._refuse(send, exchange, refusal)
                return
        await self._forward(scope, receive, send, exchange, principal, body, rest)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exchange: Exchange,
        principal: Principal | None,
        body: bytes | None,
        rest: str,
    ) -> None:
        session = _header(scope, b"mcp-session-id")
        session_id = session.decode(errors="replace") if session is not None else None
        address = await self._address(session_id)
        if address is None:
            self.metrics.upstream_errors.labels(self.route.name, "session_gone").inc()
            exchange.outcome = "session_gone"
            await rpc_error(send, 404, "Session not found; start a new session")
            return
        exchange.upstream = address
        headers = await self._upstream_headers(scope, principal)
        if headers is None:
            await rpc_error(send, 502, "Could not get credentials for the server")
            return
        cookie = await self._affinity_cookie(session_id)
        if cookie:
            headers.append((b"cookie", cookie.encode("latin-1")))
        query = scope.get("query_string", b"")
        url = f"{self.scheme}://{address}{self.route.path}{rest}" + (f"?{query.decode()}" if query else "")
        body = tracing.outgoing(scope, headers, body, url)  # the gateway's spans to the upstream, if tracing
        status, failure = 0, ""
        try:
            async with cancel_on_disconnect(receive):
                try:
                    response = await open_upstream(
                        self.upstreams,
                        scope["method"],
                        Target(url, self.host_header),
                        headers,
                        body,
                        self.settings.upstream_read_timeout,
                    )
                except UpstreamFailed as failed:
                    failure = failed.kind
                    await self._upstream_failed(send, exchange, failed, session_id)
                    return
                try:
                    status = response.status
                    created = response.headers.get("mcp-session-id")
                    if self.route.discovery == "dns" and created and created != session_id:
                        await self.sessions.remember(self.route.name, created, address)
                    if self.route.discovery == "cookie" and (created or session_id):
                        await self._keep_affinity_cookie(created or session_id or "", cookie, response)
                    if self.route.sticky and session_id and status == 404:
                        await self.sessions.forget(self.route.name, session_id)
                    if scope["method"] == "DELETE" and session_id and status < 300:
                        await self.sessions.forget(self.route.name, session_id)
                    exchange.outcome = "ok" if status < 400 else f"upstream_{status}"
                    if not await stream_back(response, send, []):
                        exchange.outcome, failure = "upstream_broke", "broke"
                        self.metrics.upstream_errors.labels(self.route.name, "protocol").inc()
                finally:
                    response.close()  # a no-op once stream_back released it; else drops the connection
        except ClientGone:
            exchange.outcome, failure = "client_gone", "client_gone"
        except BaseException:  # cancelled (the request's task) or a bug: not a finished exchange
            failure = failure or "cancelled"
            raise
        finally:
            tracing.called(scope, status, failure)

    async def _address(self, session_id: str | None) -> str | None:
        """host:port to send to; None when the session's replica is gone."""
        if not self.route.sticky or self.resolver is None:
            return self.host_header
        port = self.route.upstream_port
        if session_id is None:
            picked = await self.resolver.pick()
            return _address(picked, port) if picked is not None else self.host_header
        pinned = await self.sessions.lookup(self.route.name, session_id)
        if pinned is None:
            return None
        live = {_address(ip, port) for ip in await self.resolver.addresses()}
        if pinned not in live:
            await self.sessions.forget(self.route.name, session_id)
            return None
        return pinned

    async def _affinity_cookie(self, session_id: str | None) -> str | None:
        """The cookie the upstream's load balancer pinned this session with (discovery "cookie").
        Unknown (Redis down and another gateway replica saw the session start): none is sent and
        the balancer picks an instance; one that lacks the session answers 404, so the client
        starts again, as it would if its instance were gone."""
        if self.route.discovery != "cookie" or session_id is None:
            return None
        return await self.sessions.lookup(self.route.name, session_id)

    async def _keep_affinity_cookie(
        self, session_id: str, sent: str | None, response: aiohttp.ClientResponse
    ) -> None:
        """Merge the cookies the response sets into the session's (never into the client's
        response: they name the gateway's instance choice, not the caller's)."""
        set_cookies = response.headers.getall("set-cookie", [])
        if not set_cookies:
            return
        cookie = merge_cookies(sent, set_cookies)
        if cookie != sent:
            await self.sessions.remember(self.route.name, session_id, cookie)

    async def _upstream_failed(
        self, send: Send, exchange: Exchange, failed: UpstreamFailed, session_id: str | None
    ) -> None:
        self.metrics.upstream_errors.labels(self.route.name, failed.kind).inc()
        exchange.outcome = f"upstream_{failed.kind}"
        if failed.kind == "connect" and session_id and self.route.sticky and self.resolver is not None:
            # Its replica is gone (DNS may not know yet): the client must start a new session.
            await self.sessions.forget(self.route.name, session_id)
            await rpc_error(send, 404, "Session not found; start a new session")
            return
        retry = [(b"retry-after", b"1")] if failed.status == 502 else []
        await rpc_error(send, failed.status, str(failed), headers=retry, data={"retryable": True})

    async def _upstream_headers(
        self, scope: Scope, principal: Principal | None
    ) -> list[tuple[bytes, bytes]] | None:
        headers = [(k, v) for k, v in scope["headers"] if k not in DROP_REQUEST]
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", client[0].encode()))
        headers.append((b"x-forwarded-proto", self.settings.public.split("://", 1)[0].encode()))
        headers.append((b"x-forwarded-host", self.settings.public.split("://", 1)[1].encode()))
        headers.append((b"x-request-id", scope["gateway.exchange"].request_id.encode()))
        if principal is not None and self.access is not None:
            # The server's audience is its route's URL, even when clients use one AUTH_AUDIENCE.
            audience = self.route.public_url(self.settings.public)
            token = self.tokens.for_caller(principal, audience, self.route.scopes)
            headers.append((b"authorization", b"Bearer " + token.encode()))
        if self.route.auth == "google-id-token" and self.id_tokens is not None:
            try:
                id_token = await self.id_tokens.token(self.route.upstream)
            except IdTokenUnavailable:
                return None
            headers.append((b"x-serverless-authorization", b"Bearer " + id_token.encode()))
        return headers

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None past the limit. Read here (not streamed to the upstream):
        JSON-RPC requests are small, and per-tool scopes and the log line need the method."""
        limit = self.settings.max_request_bytes
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _limit_key(self, scope: Scope, principal: Principal | None) -> str:
        if principal is None:
            client = scope.get("client")
            return f"{self.route.name}:address:{client[0] if client else '-'}"
        return f"{self.route.name}:" + json.dumps([principal.tenant, principal.subject])

    async def _refuse(self, send: Send, exchange: Exchange, refusal: Refusal, request_id: Any = None) -> None:
        exchange.auth_failure = refusal.reason
        headers = [(b"www-authenticate", refusal.challenge.encode())] if refusal.challenge else []
        data: dict[str, Any] = {"reason": refusal.reason}
        if refusal.status == 503:
            headers.append((b"retry-after", b"1"))
            data["retryable"] = True
        await rpc_error(
            send, refusal.status, refusal.message, headers=headers, data=data, request_id=request_id
        )


def merge_cookies(sent: str | None, set_cookies: list[str]) -> str:
    """A Cookie header: the pairs sent so far, updated by each Set-Cookie's name=value (its
    attributes dropped; Max-Age=0 or an empty value removes the cookie)."""
    pairs: dict[str, str] = {}
    for part in (sent or "").split(";"):
        name, eq, value = part.strip().partition("=")
        if name and eq:
            pairs[name] = value
    for header in set_cookies:
        first, *attributes = header.split(";")
        name, eq, value = first.strip().partition("=")
        if not name or not eq:
            continue
        expired = any(a.strip().lower().replace(" ", "") == "max-age=0" for a in attributes)
        if expired or not value:
            pairs.pop(name, None)
        else:
            pairs[name] = value
    return "; ".join(f"{name}={value}" for name, value in pairs.items())


def _address(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _json_rpc(body: bytes) -> dict[str, Any] | None:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


def _method_and_tool(message: dict[str, Any] | None) -> tuple[str, str]:
    if message is None:
        return "", ""
    method = message.get("method")
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    method = method[:64] if isinstance(method, str) else ""
    return method, name[:64] if method == "tools/call" and isinstance(name, str) else ""


def _request_id(message: dict[str, Any] | None) -> Any:
    value = message.get("id") if message is not None else None
    return value if isinstance(value, (str, int)) else None
