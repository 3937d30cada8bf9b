"""A sticky bridge: one child per legacy session, from the warm pool, gone on DELETE or when the
session is abandoned (idle timer); 2026-07-28 requests, which have no session, go to the pool."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from tests.bridge.bridges import child_pids, wait_until, zombies
from tests.bridge.conftest import STICKY_IDLE_SECONDS, STICKY_MAX_PROCESSES, Platform
from tests.server.mcp_client import connect

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


async def test_a_session_gets_its_own_child_and_keeps_it(platform: Platform) -> None:
    bridge = platform.bridges["sticky"]
    wait_until(lambda: len(child_pids(bridge)) == 2, 30)
    async with connect(platform.url("sticky"), None, "legacy") as client:
        for i in range(5):
            await client.call_tool("echo", {"message": f"{i}"})
        wait_until(lambda: len(child_pids(bridge, "session")) == 1, 10)
        owner = child_pids(bridge, "session")[0]
        calls = [e for e in bridge.request_logs() if e.get("rpc_method") == "tools/call"][-5:]
        assert {e["pid"] for e in calls} == {owner}
    # DELETE at the client's exit, or else the idle timer, ends the session and its child.
    wait_until(lambda: child_pids(bridge, "session") == [], STICKY_IDLE_SECONDS + 10)
    wait_until(lambda: len(child_pids(bridge)) == 2, 30)


async def test_the_modern_era_is_served_by_the_pool(platform: Platform) -> None:
    bridge = platform.bridges["sticky"]
    wait_until(lambda: child_pids(bridge, "session") == [] and len(child_pids(bridge)) == 2, 30)
    pool = set(child_pids(bridge))
    async with connect(platform.url("sticky"), None, "2026-07-28") as client:
        result = await client.call_tool("echo", {"message": "stateless"})
    assert "Echo: stateless" in str(result.content)
    assert child_pids(bridge, "session") == []
    last = [e for e in bridge.request_logs() if e.get("rpc_method") == "tools/call"][-1]
    assert last["pid"] in pool


async def test_an_unknown_session_is_a_json_rpc_404(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(
            platform.url("sticky"),
            headers={**HEADERS, "mcp-session-id": "f" * 32, "mcp-protocol-version": "2025-11-25"},
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        )
    assert reply.status_code == 404
    assert reply.json()["error"]["message"] == "Session not found"


async def test_two_hundred_abandoned_sessions_leave_only_the_pool(platform: Platform) -> None:
    """20 clients open 10 sessions each, use each once and walk away (no DELETE). Past
    BRIDGE_MAX_PROCESSES a client gets 503 + Retry-After with a JSON-RPC error and tries again;
    the idle timer reaps every abandoned session's child; in the end nothing is left but the
    pool, and no zombie."""
    bridge = platform.bridges["sticky"]
    opened: list[str] = []
    refused: list[httpx.Response] = []
    peak = [0]

    async def client(http: httpx.AsyncClient) -> None:
        for _ in range(10):
            # Each session is opened in the end: refused while the bridge is full (503 +
            # Retry-After), admitted once the idle timer has reaped an abandoned one.
            while (
                reply := await http.post(platform.url("sticky"), headers=HEADERS, json=INITIALIZE)
            ).status_code == 503:
                refused.append(reply)
                await anyio.sleep(1.0)  # shorter than Retry-After, to keep the test short
            assert reply.status_code == 200, reply.text
            session = reply.headers["mcp-session-id"]
            opened.append(session)
            used = {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
            await http.post(platform.url("sticky"), headers=used, json=_rpc("notifications/initialized"))
            listed = await http.post(platform.url("sticky"), headers=used, json=_rpc("tools/list", 2))
            assert listed.status_code == 200
            assert "echo" in listed.text

    async def watch() -> None:
        while True:
            peak[0] = max(peak[0], len(child_pids(bridge)))
            await anyio.sleep(0.2)

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as http, anyio.create_task_group() as tg:
        tg.start_soon(watch)
        async with anyio.create_task_group() as clients:
            for _ in range(20):
                clients.start_soon(client, http)
        tg.cancel_scope.cancel()
    # Every session got a process of its own, at most STICKY_MAX_PROCESSES at a time: the idle
    # timer freed the abandoned sessions' slots while the clients kept coming.
    assert len(opened) == 200
    for reply in refused:
        assert reply.headers["retry-after"].isdigit()
        assert reply.json()["error"]["code"] == -32603
    assert peak[0] <= STICKY_MAX_PROCESSES
    wait_until(lambda: len(child_pids(bridge)) == 2 and not child_pids(bridge, "session"), 30)
    assert not zombies(bridge.process.pid)
    assert len(set(opened)) == len(opened)
    print(f"opened {len(opened)}, refused {len(refused)}, peak {peak[0]}, {time.monotonic() - started:.1f} s")


def _rpc(method: str, id: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        message["id"] = id
    return message
