"""The gateway's spans: one SERVER span per request on a route, with the MCP attributes (semantic
conventions for MCP: `mcp.method.name`, `gen_ai.tool.name`, `jsonrpc.request.id`,
`mcp.session.id`, `error.type`), the route, the outcome and the status; and under it, for a
request that is forwarded, one CLIENT span for the upstream exchange (dial to the last byte
relayed back, with the upstream's address and status), handed on to the upstream. The two apart
show how much of a slow request was the gateway's (auth, limits, waiting for a connection) and
how much the server's.

The SERVER span's parent is the caller's context: `params._meta` (traceparent/tracestate, the MCP
SDK's convention) first, as the SDK server does, else the W3C `traceparent` header. The upstream
gets the CLIENT span both ways: as its `traceparent` header, and in the `_meta` of each JSON-RPC
request (replacing the caller's), so that a server which handles a stateful session's messages in
a task of their own, where the header's context does not reach, still continues this trace.

Only when tracing is on (mcp_notes.telemetry): off, `begin` returns None and nothing here runs.
The span starts when the request arrives but is created once the body is read (`start_time`),
since the body's `_meta` may name the parent."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from starlette.types import Scope

from mcp_notes import telemetry

KEY = "gateway.trace"
CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
# Outcomes where the fault is the upstream's or ours, not the caller's: the span is an error.
FAILED = ("upstream_", "session_gone")


class ForwardTrace:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.started_ns = time.time_ns()
        self.span: Any = None
        self.call: Any = None  # the CLIENT span, while the upstream exchange lasts
        self.status = 0

    def start(self, message: dict[str, Any] | None) -> Any:
        from mcp.shared._otel import extract_trace_context
        from opentelemetry import propagate, trace

        params = message.get("params") if message is not None else None
        meta = params.get("_meta") if isinstance(params, dict) else None
        parent = extract_trace_context(meta if isinstance(meta, dict) else None)
        if parent is None:
            carrier = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in self.scope["headers"]
                if k in CONTEXT_HEADERS
            }
            parent = propagate.extract(carrier) if carrier else None
        exchange = self.scope["gateway.exchange"]
        attributes: dict[str, Any] = {
            "http.request.method": self.scope["method"],
            "http.route": f"/{exchange.route}/mcp",
            "mcp_gateway.route": exchange.route,
        }
        for header, attribute in (
            (b"mcp-session-id", "mcp.session.id"),
            (b"mcp-protocol-version", "mcp.protocol.version"),
        ):
            value = _header(self.scope, header)
            if value:
                attributes[attribute] = value.decode("latin-1")[:128]
        if message is not None:
            attributes |= _mcp_attributes(message)
        self.span = trace.get_tracer("mcp-gateway").start_span(
            _name(attributes, self.scope["method"]),
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes=attributes,
            start_time=self.started_ns,
        )
        return self.span

    def end(self) -> None:
        from opentelemetry.trace import StatusCode

        span = self.span or self.start(None)
        exchange = self.scope["gateway.exchange"]
        status = self.status
        outcome = exchange.outcome or (
            "ok" if 0 < status < 400 else f"http_{status}" if status else "no_response"
        )
        span.set_attribute("mcp_gateway.outcome", outcome)
        if exchange.upstream:
            span.set_attribute("mcp_gateway.upstream", exchange.upstream)
        if status:
            span.set_attribute("http.response.status_code", status)
        if exchange.auth_failure:
            span.set_attribute("mcp_gateway.auth_failure", exchange.auth_failure)
        # An upstream's own 4xx (`upstream_404`) is the caller's doing, relayed: not the SERVER
        # span's error (HTTP semantic conventions); its CLIENT span records it as one.
        relayed_4xx = outcome.removeprefix("upstream_").isdigit()
        failed = status >= 500 or (outcome.startswith(FAILED) and not relayed_4xx)
        failed = failed or outcome in ("client_gone", "no_response")
        if failed or status >= 400:
            span.set_attribute("error.type", outcome if outcome != "ok" else str(status))
        if failed:
            span.set_status(StatusCode.ERROR, outcome)
        span.end()


def begin(scope: Scope) -> ForwardTrace | None:
    if not telemetry.tracing_enabled():
        return None
    trace = ForwardTrace(scope)
    scope[KEY] = trace
    return trace


def outgoing(scope: Scope, headers: list[tuple[bytes, bytes]], body: bytes | None, url: str) -> bytes | None:
    """Start the SERVER span and its CLIENT span (if tracing) and hand the CLIENT span's context
    to the upstream: `headers` in place, and the body returned with its `_meta` rewritten when it
    is a JSON-RPC request. `called` ends the CLIENT span."""
    forward: ForwardTrace | None = scope.get(KEY)
    if forward is None:
        return body
    from opentelemetry import propagate, trace

    message = _message(body)
    server = forward.start(message)
    parts = urlsplit(url)
    attributes = {
        "http.request.method": scope["method"],
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        # Without the query: it is the caller's, and may carry what a trace backend should not keep.
        "url.full": urlunsplit(parts._replace(query="")),
        **(_mcp_attributes(message) if message is not None else {}),
    }
    # Named as the MCP SDK names its client spans (the bridge's too), so client and server spans
    # of one call read apart in a trace view; a request that is not JSON-RPC, by its HTTP method.
    named = "mcp.method.name" in attributes
    forward.call = trace.get_tracer("mcp-gateway").start_span(
        f"MCP send {_name(attributes, scope['method'])}" if named else scope["method"],
        context=trace.set_span_in_context(server),
        kind=trace.SpanKind.CLIENT,
        attributes=attributes,
    )
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(forward.call))
    headers[:] = [(k, v) for k, v in headers if k not in CONTEXT_HEADERS]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in carrier.items()]
    if message is None or "id" not in message or not isinstance(message.get("method"), str):
        return body  # a notification, a response, a batch or not JSON: as it came
    params = message.setdefault("params", {})
    if not isinstance(params, dict):
        return body
    meta = params.get("_meta")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.pop("tracestate", None)
    meta |= {k: v for k, v in carrier.items() if k in ("traceparent", "tracestate")}
    params["_meta"] = meta
    return orjson.dumps(message)


def called(scope: Scope, status: int, failure: str = "") -> None:
    """End the CLIENT span (pipeline.py, once per forwarded request): the upstream's status (0
    when it gave none), and why the exchange failed (`connect`, `timeout`, `broke`, `cancelled`...)."""
    forward: ForwardTrace | None = scope.get(KEY)
    if forward is None or forward.call is None:
        return
    from opentelemetry.trace import StatusCode

    span, forward.call = forward.call, None
    if status:
        span.set_attribute("http.response.status_code", status)
    # HTTP semantic conventions: a CLIENT span with a 4xx is an error (a SERVER span's is not).
    if failure or status >= 400:
        span.set_attribute("error.type", failure or str(status))
        span.set_status(StatusCode.ERROR, failure or str(status))
    span.end()


def _mcp_attributes(message: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    method = message.get("method")
    if isinstance(method, str):
        attributes["mcp.method.name"] = method[:64]
    request_id = message.get("id")
    if isinstance(request_id, str | int) and not isinstance(request_id, bool):
        attributes["jsonrpc.request.id"] = str(request_id)[:128]
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    if method == "tools/call":
        attributes["gen_ai.operation.name"] = "execute_tool"
        if isinstance(name, str):
            attributes["gen_ai.tool.name"] = name[:64]
    elif method == "prompts/get" and isinstance(name, str):
        attributes["gen_ai.prompt.name"] = name[:64]
    return attributes


def _name(attributes: dict[str, Any], http_method: str) -> str:
    """`{mcp.method.name} {target}` as the conventions ask; the HTTP method and route otherwise
    (the SSE GET, DELETE, a body that is not JSON-RPC)."""
    method = attributes.get("mcp.method.name")
    if method is None:
        return f"{http_method} {attributes['http.route']}"
    target = attributes.get("gen_ai.tool.name") or attributes.get("gen_ai.prompt.name")
    return f"{method} {target}" if target else method


def _message(body: bytes | None) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None
