"""Children that die or hang mid-call, and what the caller sees: a clean JSON-RPC error, never a
500 or a hang, and the next call works on a replacement."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from tests.bridge.bridges import (
    alive,
    child_pids,
    os_children,
    ready_pids,
    running_bridge,
    wait_until,
    zombies,
)
from tests.bridge.conftest import Platform
from tests.gateway.processes import gateway_env, running_gateway
from tests.server.issuer import free_port
from tests.server.mcp_client import MODES, connect


@pytest.mark.parametrize("mode", MODES)
async def test_child_killed_mid_call(platform: Platform, mode: str) -> None:
    bridge = platform.bridges["everything"]
    before = set(ready_pids(bridge))
    assert len(before) == 2
    errors: list[MCPError] = []
    busy: list[int] = []
    async with connect(platform.url("everything"), None, mode) as client:

        async def long_call() -> None:
            try:
                await client.call_tool("trigger-long-running-operation", {"duration": 20, "steps": 20})
            except MCPError as error:
                errors.append(error)

        with anyio.fail_after(15):  # a hang would fail here, not after the call's 20 s
            async with anyio.create_task_group() as tg:
                tg.start_soon(long_call)
                while not busy:
                    await anyio.sleep(0.1)
                    busy = child_pids(bridge, "busy")
                os.kill(busy[0], signal.SIGKILL)
        assert errors
        assert "ended during the request" in errors[0].error.message
        assert "Echo: after" in str((await client.call_tool("echo", {"message": "after"})).content)
    wait_until(lambda: len(ready_pids(bridge)) == 2, 30)
    after = set(ready_pids(bridge))
    assert busy[0] not in after
    assert len(after - before) == 1
    assert not zombies(bridge.process.pid)
    exits = [line for line in bridge.metrics().splitlines() if line.startswith("bridge_child_exits_total")]
    assert exits, bridge.metrics()


async def test_hung_child_times_out_and_is_replaced(everything_prefix: Path) -> None:
    with running_bridge(
        everything_prefix, "slow", BRIDGE_REQUEST_SECONDS="1", BRIDGE_POOL_SIZE="1"
    ) as bridge:
        routes = {"slow": {"upstream": f"http://127.0.0.1:{bridge.port}"}}
        with running_gateway(gateway_env(free_port(), routes)) as gateway:
            old = ready_pids(bridge)
            async with connect(f"{gateway.base}/slow/mcp", None, "legacy") as client:
                with anyio.fail_after(10), pytest.raises(MCPError) as raised:
                    await client.call_tool("trigger-long-running-operation", {"duration": 5, "steps": 5})
                assert raised.value.error.code == -32001
                assert "did not answer within 1 s" in raised.value.error.message
                wait_until(lambda: not alive(old[0]), 10)
                assert "Echo: again" in str((await client.call_tool("echo", {"message": "again"})).content)
            assert ready_pids(bridge) != old
            timeouts = [e for e in bridge.request_logs() if e.get("outcome") == "timeout"]
            assert timeouts
            assert timeouts[0]["status"] == 200


async def test_child_stderr_goes_to_the_json_log_with_its_pid(platform: Platform) -> None:
    bridge = platform.bridges["everything"]
    pids = set(ready_pids(bridge))
    import json

    entries = []
    for line in list(bridge.lines):
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    stderr = [e for e in entries if e.get("stream") == "stderr"]
    assert any("Starting default (STDIO) server" in e["message"] for e in stderr)
    assert all(e["server"] == "everything" and isinstance(e["pid"], int) for e in stderr)
    assert pids & {e["pid"] for e in stderr} or stderr


async def test_sigterm_stops_every_child_and_leaves_no_process(everything_prefix: Path) -> None:
    with running_bridge(everything_prefix, "stopping", BRIDGE_POOL_SIZE="3") as bridge:
        pids = child_pids(bridge)
        assert len(pids) == 3
        assert all(alive(pid) for pid in pids)
        assert set(os_children(bridge.process.pid)) >= set(pids)
        # uvicorn re-raises the signal once it has shut down cleanly, as the notes server does.
        assert bridge.stop(signal.SIGTERM, timeout=30) == -signal.SIGTERM
    assert not [pid for pid in pids if alive(pid)]
    # Each child led its own process group; nothing of any group is left.
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
