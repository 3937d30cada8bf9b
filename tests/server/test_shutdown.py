"""SIGTERM as a load balancer needs it: /ready says "draining" while requests are still
served, and a request still running when the drain time is up gets a JSON-RPC 503 with
Retry-After instead of uvicorn's plain-text 500. Ctrl-C on `make dev` ends without a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import asyncpg
import httpx

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer
from tests.server.raw_rpc import META, send, tool_call
from tests.server.server_process import PUBLIC_URL, running_server, server_env


async def test_sigterm_turns_ready_to_draining_then_cuts_what_is_left_with_a_json_503(
    issuer: Issuer, module_database: str
) -> None:
    env = server_env(issuer, module_database, REDIS, SHUTDOWN_DELAY_SECONDS="2", DRAIN_SECONDS="2")
    token = issuer.token(PUBLIC_URL, subject="stuck-writer")
    with running_server(env) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await send(http, server.url, token, tool_call("list_tags", {}))).status == 200
            blocker = await asyncpg.connect(module_database)
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")  # create_note waits
            try:
                stuck = asyncio.create_task(
                    send(http, server.url, token, tool_call("create_note", {"title": "t", "body": "b"}))
                )
                await asyncio.sleep(0.5)
                server.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                async with httpx.AsyncClient(timeout=5) as fresh:  # a new connection: still accepted
                    ready = await fresh.get(f"{server.base}/ready")
                    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": META}}
                    served = await send(fresh, server.url, token, listing)  # the lock blocks no listing
                assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
                assert served.status == 200, "requests are still served during the delay"
                answer = await asyncio.wait_for(stuck, 10)
            finally:
                await transaction.rollback()
                await blocker.close()
        assert answer.status == 503, answer
        assert answer.retry_after == "1"
        assert answer.error is not None
        assert answer.error["code"] == -32603
        assert "shutting down" in answer.error["message"]
        assert server.process.wait(15) == -signal.SIGTERM
    assert not [line for line in server.lines if "Traceback" in line]
    assert not [line for line in server.lines if "Exception in ASGI application" in line]


def test_ctrl_c_ends_the_dev_server_quietly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MCP_", "DATABASE_", "REDIS_"))}
    env["MCP_SQLITE_PATH"] = str(tmp_path / "dev.db")
    with running_server(env) as server:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(15) == 0
    assert not [line for line in server.lines if "Traceback" in line or "KeyboardInterrupt" in line]
