"""One trace from the client through the gateway and the bridge into the stdio child: real
processes exporting OTLP/HTTP to a local receiver. The child is a small SDK server over stdio that
traces too (with mcp_notes.telemetry), so its span shows that the bridge handed the context on in
`params._meta`."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.bridge.bridges import running_bridge
from tests.gateway.otlp_receiver import Receiver, Span, running_receiver, tracing_env
from tests.gateway.processes import Process, gateway_env, running_gateway
from tests.server.issuer import free_port
from tests.server.mcp_client import MODES

CHILD = '''
from mcp.server.mcpserver import MCPServer

from mcp_notes import telemetry

telemetry.setup("trace-child")
server = MCPServer("trace-child")


@server.tool()
def echo(text: str) -> str:
    """Say it back."""
    return text


server.run("stdio")
'''


@dataclass
class Traced:
    gateway: Process
    sticky: Process
    receiver: Receiver


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    home = tmp_path_factory.mktemp("traced-child")
    script = home / "child.py"
    script.write_text(CHILD)
    command = json.dumps([sys.executable, str(script)])
    with running_receiver() as receiver, pytest.MonkeyPatch.context() as patch:
        patch.delenv("OTEL_SERVICE_NAME", raising=False)  # the default names are part of what is tested
        otel = {**tracing_env(receiver), "BRIDGE_COMMAND": command, "BRIDGE_POOL_SIZE": "1"}
        with (
            running_bridge(home, "traced", **otel) as bridge,
            running_bridge(home, "sticky", BRIDGE_SESSIONS="sticky", **otel) as sticky,
        ):
            routes = {"traced": {"upstream": f"http://127.0.0.1:{bridge.port}"}}
            env = gateway_env(free_port(), routes, RATE_LIMIT_PER_MINUTE="100000", **tracing_env(receiver))
            with running_gateway(env) as gateway:
                yield Traced(gateway, sticky, receiver)


@asynccontextmanager
async def _client(url: str, mode: str, http: httpx2.AsyncClient) -> AsyncIterator[Client]:
    async with Client(streamable_http_client(url, http_client=http), mode=mode) as c:
        yield c


def one(spans: list[Span], service: str, name: str) -> Span:
    found = [s for s in spans if s.service == service and s.name == name]
    assert len(found) == 1, [(s.service, s.name) for s in spans]
    return found[0]


@pytest.mark.parametrize("mode", MODES)
async def test_one_trace_from_the_client_through_gateway_and_bridge_into_the_child(
    traced: Traced, mode: str
) -> None:
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    headers = {"traceparent": f"00-{trace_id}-{client_span}-01"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30)) as http,
        _client(f"{traced.gateway.base}/traced/mcp", mode, http) as c,
    ):
        result = await c.call_tool("echo", {"text": f"traced {mode}"})
    assert result.content[0].text == f"traced {mode}"  # type: ignore[union-attr]

    expected = {
        ("mcp-gateway", "tools/call echo"),
        ("mcp-gateway", "MCP send tools/call echo"),
        ("mcp-bridge", "tools/call echo"),
        ("mcp-bridge", "MCP send tools/call echo"),
        ("trace-child", "tools/call echo"),
    }

    def complete(spans: list[Span]) -> bool:  # each process exports on its own schedule
        return expected <= {(s.service, s.name) for s in spans if s.trace_id == trace_id}

    traced.receiver.wait_for(complete)
    spans = traced.receiver.in_trace(trace_id)
    gateway = one(spans, "mcp-gateway", "tools/call echo")
    forwarded = one(spans, "mcp-gateway", "MCP send tools/call echo")
    bridge = one(spans, "mcp-bridge", "tools/call echo")
    sent = one(spans, "mcp-bridge", "MCP send tools/call echo")
    child = one(spans, "trace-child", "tools/call echo")
    assert gateway.parent_id == client_span
    assert forwarded.parent_id == gateway.span_id
    assert bridge.parent_id == forwarded.span_id
    assert (gateway.kind, forwarded.kind) == ("server", "client")
    assert (bridge.kind, sent.kind, child.kind) == ("server", "client", "server")
    assert sent.parent_id == bridge.span_id
    assert child.parent_id == sent.span_id  # the context reached the child in params._meta
    for span in (gateway, bridge, child):
        assert span.attributes["gen_ai.tool.name"] == "echo"
        assert span.attributes["mcp.method.name"] == "tools/call"

    def connected(spans: list[Span]) -> bool:  # one tree, once every process has exported
        mine = [s for s in spans if s.trace_id == trace_id]
        return all(s.parent_id in {client_span} | {s.span_id for s in mine} for s in mine)

    traced.receiver.wait_for(connected)


async def test_each_message_of_a_sticky_session_continues_its_own_traceparent(traced: Traced) -> None:
    """A stateful session's messages run in a task its first request started; each must still
    take the parent from its own request's header, not from the one that opened the session."""
    calls = [(secrets.token_hex(16), secrets.token_hex(8)) for _ in range(2)]
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(30)) as http,
        _client(f"{traced.sticky.base}/mcp", "legacy", http) as c,
    ):
        for trace_id, span_id in calls:
            http.headers["traceparent"] = f"00-{trace_id}-{span_id}-01"
            result = await c.call_tool("echo", {"text": trace_id})
            assert result.content[0].text == trace_id  # type: ignore[union-attr]
    for trace_id, span_id in calls:
        # The call's own spans: the session's first trace also holds the handshake's, which may
        # arrive first (each process exports on its own schedule).
        spans = traced.receiver.wait_for(
            lambda all_spans, t=trace_id: (
                {("trace-child", "tools/call echo"), ("mcp-bridge", "tools/call echo")}
                <= {(s.service, s.name) for s in all_spans if s.trace_id == t and s.kind == "server"}
            )
        )
        mine = [s for s in spans if s.trace_id == trace_id]
        bridge = one(mine, "mcp-bridge", "tools/call echo")
        assert bridge.parent_id == span_id
        assert bridge.attributes["mcp.session.id"]
