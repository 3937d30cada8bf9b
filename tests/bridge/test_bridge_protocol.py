"""Both stdio servers through the gateway with the official client, in both protocol eras."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from tests.bridge.conftest import Platform
from tests.server.mcp_client import MODES, connect

ACCEPT = "application/json, text/event-stream"


def _text(result: Any) -> str:
    assert not result.is_error, result.content
    return " ".join(getattr(block, "text", "") for block in result.content)


@pytest.mark.parametrize("mode", MODES)
async def test_everything_tools_list_and_call(platform: Platform, mode: str) -> None:
    async with connect(platform.url("everything"), None, mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"echo", "get-sum", "trigger-long-running-operation"} <= names
        assert _text(await client.call_tool("echo", {"message": "through the bridge"})) == (
            "Echo: through the bridge"
        )
        assert "42" in _text(await client.call_tool("get-sum", {"a": 40, "b": 2}))


@pytest.mark.parametrize("mode", MODES)
async def test_time_tools_list_and_call(platform: Platform, mode: str) -> None:
    async with connect(platform.url("time"), None, mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"get_current_time", "convert_time"} <= names
        answer = json.loads(_text(await client.call_tool("get_current_time", {"timezone": "Europe/Paris"})))
        assert answer["timezone"] == "Europe/Paris"
        assert answer["datetime"][:2] == "20"


@pytest.mark.parametrize("mode", MODES)
async def test_resource_list_and_read(platform: Platform, mode: str) -> None:
    async with connect(platform.url("everything"), None, mode) as client:
        resources = (await client.list_resources()).resources
        assert resources
        first = resources[0]
        contents = (await client.read_resource(str(first.uri))).contents
        assert contents
        assert str(contents[0].uri) == str(first.uri)
        templates = (await client.list_resource_templates()).resource_templates
        assert templates


@pytest.mark.parametrize("mode", MODES)
async def test_prompts_and_completion_pass_through(platform: Platform, mode: str) -> None:
    async with connect(platform.url("everything"), None, mode) as client:
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        assert "simple-prompt" in prompts
        messages = (await client.get_prompt("simple-prompt")).messages
        assert messages
        assert messages[0].role == "user"


@pytest.mark.parametrize("mode", MODES)
async def test_progress_reaches_the_caller_before_the_result(platform: Platform, mode: str) -> None:
    seen: list[tuple[float, float | None]] = []
    finished_at: list[int] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with connect(platform.url("everything"), None, mode) as client:
        result = await client.call_tool(
            "trigger-long-running-operation", {"duration": 2, "steps": 4}, progress_callback=on_progress
        )
        finished_at.append(len(seen))
    assert "completed" in _text(result)
    assert finished_at[0] >= 3, seen  # delivered while the call was running, not after
    assert [p for p, _ in seen[:3]] == [1, 2, 3]
    assert all(total == 4 for _, total in seen)


async def test_both_eras_announce_the_child(platform: Platform) -> None:
    async with connect(platform.url("time"), None, "legacy") as client:
        assert client.server_info is not None
        assert client.server_info.name == "mcp-time"
        assert client.server_capabilities.tools is not None
    async with connect(platform.url("everything"), None, "2026-07-28") as client:
        # A version-pinned client skips the probe; send it, as an auto-negotiating client would.
        discovered = await client.session.send_discover("2026-07-28")
        capabilities = discovered["capabilities"]
        assert {"tools", "resources", "prompts", "completions"} <= set(capabilities)
        # Nothing the bridge cannot carry: no subscriptions or server-initiated logging.
        assert capabilities["resources"]["subscribe"] is False
        assert "logging" not in capabilities
        assert "Everything" in discovered["instructions"]


async def test_fifty_concurrent_calls_spread_over_the_pool(platform: Platform) -> None:
    bridge = platform.bridges["everything"]
    before = len(bridge.request_logs())
    results: list[str] = []
    async with connect(platform.url("everything"), None, "2026-07-28") as client:

        async def one(i: int) -> None:
            results.append(_text(await client.call_tool("echo", {"message": f"call {i}"})))

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(one, i)
    assert sorted(results) == sorted(f"Echo: call {i}" for i in range(50))
    calls = [e for e in bridge.request_logs()[before:] if e.get("rpc_method") == "tools/call"]
    assert len(calls) == 50
    assert len({e["pid"] for e in calls}) == 2  # both pool children took calls


async def test_the_child_sees_the_environment_but_no_bridge_setting(platform: Platform) -> None:
    async with connect(platform.url("everything"), None, "legacy") as client:
        env = _text(await client.call_tool("get-env", {}))
    assert '"PATH"' in env
    assert "BRIDGE_" not in env


async def test_refusals_are_json_rpc_errors(platform: Platform) -> None:
    url = f"{platform.bridges['everything'].base}/mcp"
    async with httpx.AsyncClient(timeout=10) as http:
        plain = await http.post(url, content=b"x", headers={"content-type": "text/plain", "accept": ACCEPT})
        parse = await http.post(
            url, content=b"{bad", headers={"content-type": "application/json", "accept": ACCEPT}
        )
        verb = await http.put(url, headers={"accept": ACCEPT})
    for reply, status in ((plain, 400), (parse, 400), (verb, 405)):
        assert reply.status_code == status
        assert reply.json()["jsonrpc"] == "2.0"
        assert reply.json()["error"]["code"] < 0
