"""The proxy itself: streaming, upstream failures as JSON-RPC errors, limits, CORS and headers."""

from __future__ import annotations

import time

import httpx

from tests.gateway.conftest import Platform
from tests.server.mcp_client import connect

ACCEPT = {"accept": "application/json, text/event-stream"}
CALL = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "tools/call",
    "params": {"name": "echo", "arguments": {"text": "x"}},
}


async def test_a_streamed_response_arrives_in_pieces(platform: Platform) -> None:
    arrivals: list[float] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        arrivals.append(time.monotonic())

    async with connect(platform.url("plain"), platform.token("plain", "plain:use"), "legacy") as client:
        result = await client.call_tool("count", {"to": 4}, progress_callback=progress)
    finished = time.monotonic()
    assert result.content[0].text == "counted to 4"  # type: ignore[union-attr]
    assert len(arrivals) == 4
    assert finished - arrivals[0] > 0.8  # the first piece came long before the end


def test_upstream_down_is_a_json_rpc_502(platform: Platform) -> None:
    response = httpx.post(platform.url("down"), json=CALL, headers=_auth(platform, "down"))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == -32603
    assert "Traceback" not in response.text


def test_upstream_slow_is_a_json_rpc_504(platform: Platform) -> None:
    started = time.monotonic()
    response = httpx.post(platform.url("slow"), json=CALL, headers=_auth(platform, "slow"), timeout=10)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == -32603
    assert time.monotonic() - started < 3.5  # the gateway's 2 s, not the upstream's 4 s


def test_unknown_route_is_a_json_rpc_404(platform: Platform) -> None:
    response = httpx.post(f"{platform.gateway.base}/nope/mcp", json=CALL)
    assert response.status_code == 404
    assert response.json()["jsonrpc"] == "2.0"


def test_body_over_the_limit_is_413(platform: Platform) -> None:
    big = {**CALL, "params": {"name": "echo", "arguments": {"text": "x" * 70_000}}}
    response = httpx.post(platform.url("plain"), json=big, headers=_auth(platform, "plain"))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == -32600


def test_cors_preflight_needs_no_token_and_headers_are_set(platform: Platform) -> None:
    preflight = httpx.options(
        platform.url("notes"),
        headers={"origin": "https://app.example", "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    refused = httpx.options(
        platform.url("notes"),
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert refused.status_code == 403
    response = httpx.post(
        platform.url("notes"), json=CALL, headers={**ACCEPT, "origin": "https://app.example"}
    )
    assert response.status_code == 401
    exposed = response.headers["access-control-expose-headers"]
    assert "Mcp-Session-Id" in exposed
    assert "WWW-Authenticate" in exposed
    assert "MCP-Protocol-Version" in exposed
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_sse_is_not_buffered_and_traceparent_passes(platform: Platform) -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {**_auth(platform, "plain"), "traceparent": trace, "mcp-protocol-version": "2026-07-28"}
    response = httpx.post(platform.url("plain"), json=CALL, headers=headers)
    assert response.headers["x-accel-buffering"] == "no"
    assert platform.plain.seen()[-1]["traceparent"] == trace
    # The upstream's own Date, Server, X-Request-Id and X-Accel-Buffering are not repeated.
    names = [name.lower() for name, _ in response.headers.multi_items()]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_metrics_are_private_to_whoever_scrapes_the_gateway_directly(platform: Platform) -> None:
    """A request the load balancer forwarded carries X-Forwarded-For; Prometheus's scrape does not."""
    through_the_edge = httpx.get(
        f"{platform.gateway.base}/metrics", headers={"x-forwarded-for": "203.0.113.9"}
    )
    assert through_the_edge.status_code == 404
    assert "gateway_requests_total" not in through_the_edge.text
    assert httpx.get(f"{platform.gateway.base}/metrics").status_code == 200


def test_metrics_and_log_lines(platform: Platform) -> None:
    httpx.post(platform.url("notes"), json=CALL, headers=ACCEPT)
    text = platform.gateway.metrics()
    assert 'gateway_auth_failures_total{reason="missing_token",route="notes"}' in text
    assert "gateway_upstream_errors_total" in text
    entry = next(e for e in reversed(platform.gateway.request_logs()) if e.get("route") == "notes")
    assert entry["status"] == 401
    assert entry["auth_failure"] == "missing_token"


def _auth(platform: Platform, route: str) -> dict[str, str]:
    scope = {"plain": "plain:use", "down": "x", "slow": "x", "notes": "notes:read"}[route]
    return {**ACCEPT, "authorization": f"Bearer {platform.token(route, scope)}"}
