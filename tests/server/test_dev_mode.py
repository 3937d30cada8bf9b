"""The embedded default (`make dev`: auth off, loopback only) answers like production does:
the documented errors for unknown tools and the rate limit, keyed by client address."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.raw_rpc import send, tool_call
from tests.server.server_process import ServerProcess, running_server


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MCP_", "DATABASE_", "REDIS_"))}
    env["MCP_SQLITE_PATH"] = str(Path(tmp_path_factory.mktemp("dev")) / "dev.db")
    env["RATE_LIMIT_PER_MINUTE"] = "5"
    with running_server(env) as process:
        yield process


async def test_an_unknown_tool_is_400_invalid_params_with_auth_off(dev: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await send(http, dev.url, None, tool_call("no_such_tool", {}))
    assert answer.status == 400
    assert answer.error is not None
    assert answer.error["code"] == -32602
    assert answer.error["message"] == "Unknown tool: no_such_tool"


async def test_the_rate_limit_applies_per_client_address_with_auth_off(dev: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        answers = [await send(http, dev.url, None, tool_call("list_tags", {}, i)) for i in range(8)]
    statuses = [a.status for a in answers]
    assert 429 in statuses, statuses
    refused = answers[statuses.index(429)]
    assert refused.retry_after is not None
    assert int(refused.retry_after) >= 1
    assert refused.error is not None
    assert refused.error["code"] == -32029
