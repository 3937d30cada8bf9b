"""/ready says whether this replica can serve: the database answers. A busy request pool or a
Redis that is away must not take it out of the load balancer; a database it cannot reach must."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx

from tests.server.conftest import POSTGRES_ADMIN
from tests.server.issuer import Issuer
from tests.server.redis_server import private_redis
from tests.server.server_process import PUBLIC_URL, ServerProcess, running_server, server_env


def _call(server: ServerProcess, token: str, name: str, arguments: dict) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
    return httpx.post(server.url, json=body, headers=headers, timeout=30)


def _ready(server: ServerProcess) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = httpx.get(f"{server.base}/ready", timeout=10)
    return response.status_code, response.json(), time.monotonic() - started


async def test_ready_while_every_pooled_connection_is_busy(issuer: Issuer, database_url: str) -> None:
    env = server_env(issuer, database_url, None, DB_POOL_MIN="1", DB_POOL_MAX="1")
    token = issuer.token(PUBLIC_URL, subject="locked-out")
    with running_server(env) as server:
        assert _call(server, token, "list_tags", {}).status_code == 200
        locker = await asyncpg.connect(database_url)
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
        stuck = asyncio.ensure_future(asyncio.to_thread(_call, server, token, "list_tags", {}))
        try:
            for _ in range(50):  # until the request holds the pool's one connection, waiting
                if server.metric("mcp_db_pool_connections_in_use") == 1:
                    break
                await asyncio.sleep(0.1)
            assert server.metric("mcp_db_pool_connections_in_use") == 1
            status, body, seconds = await asyncio.to_thread(_ready, server)
            assert (status, body["checks"]) == (200, {"postgres": "ok"}), body
            assert seconds < 1  # read from the background probe, not queued behind the request
        finally:
            await transaction.rollback()
            await locker.close()
            assert (await stuck).status_code == 200


async def test_ready_while_redis_is_down(issuer: Issuer, module_database: str) -> None:
    token = issuer.token(PUBLIC_URL, subject="no-redis")
    with (
        private_redis() as redis_server,
        running_server(server_env(issuer, module_database, redis_server.url)) as server,
    ):
        redis_server.kill()
        assert _call(server, token, "list_tags", {}).status_code == 200  # finds Redis gone
        status, body, _ = await asyncio.to_thread(_ready, server)
        assert (status, body["status"], body["failed"]) == (200, "ready", []), body
        assert list(body["degraded"]) == ["redis"], body  # named in the body all the same
        assert server.metric("mcp_dependency_up", dependency="redis") == 0  # reported all the same
        assert server.metric("mcp_dependency_up", dependency="postgres") == 1


async def test_not_ready_naming_postgres_when_the_database_is_unreachable(
    issuer: Issuer, database_url: str
) -> None:
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        with running_server(server_env(issuer, database_url, None)) as server:
            assert (await asyncio.to_thread(_ready, server))[0] == 200
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            status, body, _ = await asyncio.to_thread(_ready, server)
            for _ in range(50):
                if status == 503:
                    break
                await asyncio.sleep(0.1)
                status, body, _ = await asyncio.to_thread(_ready, server)
            assert (status, body["failed"]) == (503, ["postgres"]), body
            assert body["checks"]["postgres"] != "ok"
            health = await asyncio.to_thread(httpx.get, f"{server.base}/health", timeout=5)
            assert health.status_code == 200  # alive all the same
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            for _ in range(50):
                if (await asyncio.to_thread(_ready, server))[0] == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await asyncio.to_thread(_ready, server))[0] == 200
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
