"""One trace from the client through the gateway to the notes server: real processes exporting
OTLP/HTTP to a local receiver, the official MCP client starting the trace (a `traceparent` header,
or `params._meta` as the SDK does)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY
from mcp_types.version import LATEST_MODERN_VERSION

from tests.gateway.otlp_receiver import Receiver, Span, running_receiver, tracing_env
from tests.gateway.processes import Process, gateway_env, running_gateway
from tests.server.issuer import free_port
from tests.server.mcp_client import MODES, structured
from tests.server.server_process import running_server, server_env


@dataclass
class Traced:
    gateway: Process
    receiver: Receiver

    def url(self, route: str) -> str:
        return f"{self.gateway.base}/{route}/mcp"


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    gw_port, notes_port, closed_port = free_port(), free_port(), free_port()
    routes = {
        "notes": {"upstream": f"http://127.0.0.1:{notes_port}", "scopes": []},
        "down": {"upstream": f"http://127.0.0.1:{closed_port}", "scopes": []},
    }
    with running_receiver() as receiver:
        otel = tracing_env(receiver)
        env = gateway_env(gw_port, routes, RATE_LIMIT_PER_MINUTE="100000", **otel)
        env.pop("OTEL_SERVICE_NAME", None)  # the default names are part of what is tested
        notes_env = server_env(
            None,
            None,
            None,
            MCP_PUBLIC_URL=f"http://127.0.0.1:{gw_port}/notes/mcp",
            MCP_SQLITE_PATH=str(tmp_path_factory.mktemp("notes") / "notes.db"),
            **otel,
        )
        notes_env.pop("OTEL_SERVICE_NAME", None)
        with running_gateway(env) as gateway, running_server(notes_env, port=notes_port):
            yield Traced(gateway, receiver)


def new_context() -> tuple[str, str]:
    """A trace id and the id of the client's span, as a caller's tracer would make them."""
    return secrets.token_hex(16), secrets.token_hex(8)


@asynccontextmanager
async def client(url: str, mode: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as c,
    ):
        yield c


def one(spans: list[Span], service: str, name: str) -> Span:
    found = [s for s in spans if s.service == service and s.name == name]
    assert len(found) == 1, [(s.service, s.name) for s in spans]
    return found[0]


def both_services(trace_id: str, name: str) -> Callable[[list[Span]], bool]:
    """The span named so from the gateway and from the notes server, in that trace: each process
    exports on its own schedule, so one may arrive well before the other."""
    wanted = {("mcp-gateway", name), ("mcp-notes", name)}
    return lambda spans: wanted <= {(s.service, s.name) for s in spans if s.trace_id == trace_id}


def assert_connected(receiver: Receiver, trace_id: str, client_span: str) -> list[Span]:
    """One tree: every span's parent is the client's span or another span of the trace. Waited
    for: a parent may end (and be exported) after its child's batch has arrived."""

    def connected(spans: list[Span]) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        ids = {s.span_id for s in mine} | {client_span}
        return all(s.parent_id in ids for s in mine)

    return [s for s in receiver.wait_for(connected) if s.trace_id == trace_id]


@pytest.mark.parametrize("mode", MODES)
async def test_a_traceparent_header_is_one_trace_through_gateway_and_server(
    traced: Traced, mode: str
) -> None:
    trace_id, client_span = new_context()
    headers = {"traceparent": f"00-{trace_id}-{client_span}-01"}
    async with client(traced.url("notes"), mode, headers) as c:
        created = structured(await c.call_tool("create_note", {"title": "traced", "body": mode}))
    assert created["title"] == "traced"

    traced.receiver.wait_for(both_services(trace_id, "tools/call create_note"))
    spans = traced.receiver.in_trace(trace_id)
    gateway = one(spans, "mcp-gateway", "tools/call create_note")
    upstream = one(spans, "mcp-gateway", "MCP send tools/call create_note")
    server = one(spans, "mcp-notes", "tools/call create_note")
    assert gateway.parent_id == client_span
    assert gateway.kind == "server"
    assert gateway.attributes["mcp.method.name"] == "tools/call"
    assert gateway.attributes["gen_ai.tool.name"] == "create_note"
    assert gateway.attributes["mcp_gateway.route"] == "notes"
    assert gateway.attributes["http.route"] == "/notes/mcp"
    assert gateway.attributes["mcp_gateway.outcome"] == "ok"
    assert gateway.attributes["http.response.status_code"] == 200
    assert gateway.attributes["jsonrpc.request.id"]
    assert "error.type" not in gateway.attributes
    # The upstream exchange is the gateway's CLIENT span, under its SERVER span, and the server
    # continues it, not the client's span: the gateway is a hop in the tree.
    assert upstream.kind == "client"
    assert upstream.parent_id == gateway.span_id
    assert upstream.attributes["server.address"] == "127.0.0.1"
    assert upstream.attributes["server.port"] == int(gateway.attributes["mcp_gateway.upstream"].split(":")[1])
    assert upstream.attributes["url.full"] == f"http://{gateway.attributes['mcp_gateway.upstream']}/mcp"
    assert upstream.attributes["http.response.status_code"] == 200
    assert upstream.attributes["gen_ai.tool.name"] == "create_note"
    assert upstream.status != "error"
    assert gateway.start_ns <= upstream.start_ns <= upstream.end_ns <= gateway.end_ns
    assert server.parent_id == upstream.span_id
    assert server.attributes["gen_ai.tool.name"] == "create_note"
    assert server.attributes["jsonrpc.request.id"] == gateway.attributes["jsonrpc.request.id"]
    assert server.status != "error"
    spans = assert_connected(traced.receiver, trace_id, client_span)
    if mode == "legacy":  # the handshake belongs to the same trace
        assert {s.name for s in spans if s.service == "mcp-gateway"} >= {
            "initialize",
            "tools/call create_note",
        }


async def test_a_traceparent_in_meta_is_continued_when_there_is_no_header(traced: Traced) -> None:
    trace_id, client_span = new_context()
    async with client(traced.url("notes"), "2026-07-28", {}) as c:
        result = await c.call_tool(
            "search_notes", {"query": "traced"}, meta={"traceparent": f"00-{trace_id}-{client_span}-01"}
        )
    assert not result.is_error
    traced.receiver.wait_for(both_services(trace_id, "tools/call search_notes"))
    spans = traced.receiver.in_trace(trace_id)
    gateway = one(spans, "mcp-gateway", "tools/call search_notes")
    upstream = one(spans, "mcp-gateway", "MCP send tools/call search_notes")
    server = one(spans, "mcp-notes", "tools/call search_notes")
    assert gateway.parent_id == client_span
    # The gateway replaced the caller's _meta traceparent with its own (CLIENT) span.
    assert upstream.parent_id == gateway.span_id
    assert server.parent_id == upstream.span_id
    spans = assert_connected(traced.receiver, trace_id, client_span)


def test_an_unreachable_upstream_is_an_error_span(traced: Traced) -> None:
    trace_id, client_span = new_context()
    call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
    response = httpx.post(
        traced.url("down"),
        json=call,
        headers={
            "accept": "application/json, text/event-stream",
            "traceparent": f"00-{trace_id}-{client_span}-01",
        },
    )
    assert response.status_code == 502
    spans = traced.receiver.wait_for(lambda s: len([x for x in s if x.trace_id == trace_id]) >= 2)
    mine = [s for s in spans if s.trace_id == trace_id]
    span = one(mine, "mcp-gateway", "tools/call echo")
    assert span.parent_id == client_span
    assert span.status == "error"
    assert span.attributes["error.type"] == "upstream_connect"
    assert span.attributes["mcp_gateway.outcome"] == "upstream_connect"
    assert span.attributes["http.response.status_code"] == 502
    # The exchange that failed: no status from the upstream, only why it failed.
    upstream = one(mine, "mcp-gateway", "MCP send tools/call echo")
    assert upstream.parent_id == span.span_id
    assert upstream.status == "error"
    assert upstream.attributes["error.type"] == "connect"
    assert "http.response.status_code" not in upstream.attributes


def test_an_upstream_4xx_is_an_error_of_the_client_span_only(traced: Traced) -> None:
    """HTTP semantic conventions: a 4xx is the caller's doing on the SERVER span, an error on the
    CLIENT span (the request the gateway made was refused). A stateless 2026-07-28 call of a tool
    the server does not have is its 400 with -32602."""
    trace_id, client_span = new_context()
    meta = {
        PROTOCOL_VERSION_META_KEY: LATEST_MODERN_VERSION,
        CLIENT_CAPABILITIES_META_KEY: {},
        CLIENT_INFO_META_KEY: {"name": "trace-test", "version": "0"},
    }
    params = {"name": "no_such_tool", "arguments": {}, "_meta": meta}
    response = httpx.post(
        traced.url("notes"),
        json={"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": params},
        headers={
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": LATEST_MODERN_VERSION,
            "mcp-method": "tools/call",
            "mcp-name": "no_such_tool",
            "traceparent": f"00-{trace_id}-{client_span}-01",
        },
    )
    assert response.status_code == 400, response.text
    names = {"tools/call no_such_tool", "MCP send tools/call no_such_tool"}
    spans = traced.receiver.wait_for(lambda s: names <= {x.name for x in s if x.trace_id == trace_id})
    mine = [s for s in spans if s.trace_id == trace_id]
    upstream = one(mine, "mcp-gateway", "MCP send tools/call no_such_tool")
    assert upstream.attributes["http.response.status_code"] == 400
    assert upstream.attributes["error.type"] == "400"
    assert upstream.status == "error"
    gateway = one(mine, "mcp-gateway", "tools/call no_such_tool")
    assert gateway.status != "error"


def test_a_request_refused_before_forwarding_still_has_its_span(traced: Traced) -> None:
    trace_id, client_span = new_context()
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "create_note"}}
    response = httpx.post(
        traced.url("notes"),
        json=call,
        headers={
            "accept": "application/json, text/event-stream",
            "mcp-name": "delete_note",  # differs from the body's tool: refused with 400
            "traceparent": f"00-{trace_id}-{client_span}-01",
        },
    )
    assert response.status_code == 400
    spans = traced.receiver.wait_for(lambda s: any(x.trace_id == trace_id for x in s))
    (span,) = [s for s in spans if s.trace_id == trace_id]
    assert span.service == "mcp-gateway"
    assert span.parent_id == client_span
    assert span.attributes["http.response.status_code"] == 400
    assert span.attributes["error.type"] == "http_400"
