"""Postgres restarted under load, on a private server: while it is away each tool call gets a
JSON-RPC error that says the database is unavailable and to retry (503 + Retry-After), never
a tool result that looks like bad input and never a 5xx of our own; afterwards the same
process serves again without a restart."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer
from tests.server.private_postgres import PrivatePostgres, private_postgres
from tests.server.raw_rpc import Answer, send, tool_call
from tests.server.server_process import PUBLIC_URL, running_server, server_env

WORKERS = 8


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


async def _hammer(url: str, token: str, note_id: str, stop: asyncio.Event) -> list[Answer]:
    answers: list[Answer] = []
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(100_000):  # bounded; ends when `stop` is set
            if stop.is_set():
                break
            call = (
                tool_call("get_note", {"note_id": note_id}, i)
                if i % 3
                else tool_call("create_note", {"title": f"n{i}", "body": "under load"}, i)
            )
            answers.append(await send(http, url, token, call))
            await asyncio.sleep(0.01)
    return answers


async def test_a_postgres_restart_under_load_gives_retryable_errors_then_recovers(
    issuer: Issuer, postgres: PrivatePostgres
) -> None:
    env = server_env(
        issuer, postgres.url, REDIS, DB_CONNECT_TIMEOUT_SECONDS="1", RATE_LIMIT_PER_MINUTE="100000"
    )
    token = issuer.token(PUBLIC_URL, subject="restart")
    with running_server(env) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            created = await send(
                http, server.url, token, tool_call("create_note", {"title": "t", "body": "b"})
            )
        note_id = created.body["result"]["structuredContent"]["id"]
        stop = asyncio.Event()
        workers = [asyncio.create_task(_hammer(server.url, token, note_id, stop)) for _ in range(WORKERS)]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(postgres.stop)
        await asyncio.sleep(2.0)  # calls keep arriving while the database is away
        await asyncio.to_thread(postgres.start)
        await asyncio.sleep(3.0)
        stop.set()
        answers = [a for batch in await asyncio.gather(*workers) for a in batch]

        statuses = Counter(a.status for a in answers)
        assert set(statuses) <= {200, 503}, statuses
        assert statuses[503] > 0, "the outage was seen"
        for answer in answers:
            if answer.status == 503:
                assert answer.retry_after == "1"
                assert answer.error is not None
                assert answer.error["code"] == -32603
                assert answer.error["data"] == {
                    "retryable": True,
                    "retry_after_seconds": 1,
                    "dependency": "database",
                }
                assert "database is unavailable" in answer.error["message"]
            else:  # never a tool error dressed as the caller's fault
                assert answer.result is not None, answer
                assert not answer.result.get("isError"), answer
        last = answers[-WORKERS * 3 :]
        assert all(a.status == 200 for a in last), "service recovered without a restart"
        assert server.process.poll() is None
    assert not [line for line in server.lines if "Traceback" in line]


async def test_postgres_down_makes_ready_503_naming_it(issuer: Issuer, postgres: PrivatePostgres) -> None:
    env = server_env(issuer, postgres.url, REDIS, DB_CONNECT_TIMEOUT_SECONDS="1")
    with running_server(env) as server:
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{server.base}/ready")).status_code == 200
            await asyncio.to_thread(postgres.stop)
            try:
                deadline = time.monotonic() + 10
                ready = await http.get(f"{server.base}/ready")
                while ready.status_code == 200 and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    ready = await http.get(f"{server.base}/ready")
                assert ready.status_code == 503
                assert "postgres" in ready.json()["failed"]
            finally:
                await asyncio.to_thread(postgres.start)
            conn = await asyncpg.connect(postgres.url, timeout=5)
            await conn.close()
