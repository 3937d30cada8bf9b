"""Sticky sessions: a stateful SDK server at 3 replicas (127.0.0.2-4, one DNS name) behind 2
gateway replicas sharing Redis. Every call of one session reaches the replica that created it;
once that replica is gone the session gets 404 and a new session works."""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import httpx

from tests.gateway.processes import gateway_env, running, running_gateway, running_upstream
from tests.server.conftest import REDIS
from tests.server.issuer import free_port
from tests.server.mcp_client import connect

REPLICAS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def _text(result: object) -> str:
    return result.content[0].text  # type: ignore[attr-defined]


async def test_one_session_one_replica_then_404_and_a_new_session(tmp_path: Path) -> None:
    port = free_port()
    dns = tmp_path / "dns.json"
    dns.write_text(json.dumps({"stateful.test": list(REPLICAS)}))
    routes = {"state": {"upstream": f"http://stateful.test:{port}", "sticky": True, "discovery": "dns"}}
    prefix = f"gw-sticky-{secrets.token_hex(4)}:"
    with (
        running_upstream("stateful", port, REPLICAS[0], REPLICA_ID="a") as a,
        running_upstream("stateful", port, REPLICAS[1], REPLICA_ID="b") as b,
        running_upstream("stateful", port, REPLICAS[2], REPLICA_ID="c") as c,
    ):
        replicas = {"a": a, "b": b, "c": c}
        gw_ports = (free_port(), free_port())
        envs = [
            gateway_env(p, routes, REDIS_URL=REDIS, REDIS_KEY_PREFIX=prefix, FAKE_DNS_FILE=str(dns))
            for p in gw_ports
        ]
        with running_gateway(envs[0]) as g1, running_gateway(envs[1]) as g2:
            urls = [f"{g1.base}/state/mcp", f"{g2.base}/state/mcp"]
            async with connect(urls, None, "legacy") as client:
                answers = {_text(await client.call_tool("whoami", {})) for _ in range(100)}
            assert len(answers) == 1
            owner = answers.pop()
            # Both gateways forwarded calls of that session (round robin), all to one replica.
            assert all(any(e.get("route") == "state" for e in g.request_logs()) for g in (g1, g2))

            seen = replicas[owner].seen()
            session_id = next(h["mcp-session-id"] for h in reversed(seen) if "mcp-session-id" in h)
            replicas[owner].stop()
            dns.write_text(
                json.dumps(
                    {"stateful.test": [r for r, n in zip(REPLICAS, "abc", strict=False) if n != owner]}
                )
            )
            for url in urls:
                http = httpx.AsyncClient()
                response = await http.post(
                    url,
                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                    headers={
                        "accept": "application/json, text/event-stream",
                        "mcp-session-id": session_id,
                        "mcp-protocol-version": "2025-11-25",
                    },
                )
                await http.aclose()
                assert response.status_code == 404, response.text
                assert response.json()["jsonrpc"] == "2.0"

            async with connect(urls, None, "legacy") as client:
                again = {_text(await client.call_tool("whoami", {})) for _ in range(10)}
            assert len(again) == 1
            assert again.pop() != owner


async def test_cloud_run_affinity_cookie_is_kept_per_session_and_replayed() -> None:
    """Cloud Run: the gateway reaches one URL and Cloud Run's front end picks the instance, pinning
    a client by its session-affinity cookie. The gateway keeps the cookie each session started
    with (in Redis, for every gateway replica) and replays it; callers never see it."""
    ports = (free_port(), free_port(), free_port())
    front = free_port()
    routes = {"state": {"upstream": f"http://127.0.0.1:{front}", "sticky": True, "discovery": "cookie"}}
    prefix = f"gw-cookie-{secrets.token_hex(4)}:"
    with (
        running_upstream("stateful", ports[0], REPLICA_ID="a") as a,
        running_upstream("stateful", ports[1], REPLICA_ID="b") as b,
        running_upstream("stateful", ports[2], REPLICA_ID="c") as c,
        running(
            [sys.executable, "-m", "tests.gateway.affinity_front", str(front), *map(str, ports)],
            {**os.environ},
            front,
        ),
    ):
        replicas = {"a": a, "b": b, "c": c}
        envs = [gateway_env(free_port(), routes, REDIS_URL=REDIS, REDIS_KEY_PREFIX=prefix) for _ in range(2)]
        with running_gateway(envs[0]) as g1, running_gateway(envs[1]) as g2:
            urls = [f"{g1.base}/state/mcp", f"{g2.base}/state/mcp"]
            # Two sessions at once, so replaying the wrong session's cookie would show.
            async with connect(urls, None, "legacy") as one, connect(urls, None, "legacy") as two:
                first = {_text(await one.call_tool("whoami", {})) for _ in range(50)}
                second = {_text(await two.call_tool("whoami", {})) for _ in range(50)}
                assert len(first) == 1, first
                assert len(second) == 1, second
                assert first != second  # the front balanced the two sessions' first requests apart
                assert all(any(e.get("route") == "state" for e in g.request_logs()) for g in (g1, g2))

                # Its instance is gone: the front picks another, which lacks the session: 404.
                owner = next(iter(first))
                seen = replicas[owner].seen()
                session_id = next(h["mcp-session-id"] for h in reversed(seen) if "mcp-session-id" in h)
                replicas[owner].stop()
                for url in urls:
                    response = await _post(url, {"mcp-session-id": session_id}, "tools/list")
                    assert response.status_code == 404, response.text
                    assert "set-cookie" not in response.headers

            # A new session works, on another instance; the affinity cookie never reaches callers.
            async with connect(urls, None, "legacy") as again:
                answers = {_text(await again.call_tool("whoami", {})) for _ in range(10)}
            assert len(answers) == 1
            assert owner not in answers
            response = await _post(urls[0], {"cookie": f"GAESA={ports[0]}"}, "initialize")
            assert response.status_code == 200, response.text
            assert "set-cookie" not in response.headers


async def _post(url: str, headers: dict[str, str], method: str) -> httpx.Response:
    params = (
        {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        if method == "initialize"
        else {}
    )
    async with httpx.AsyncClient() as http:
        return await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            headers={
                "accept": "application/json, text/event-stream",
                "mcp-protocol-version": "2025-11-25",
                **headers,
            },
        )
