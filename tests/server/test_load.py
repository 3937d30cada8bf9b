"""One replica under more concurrent requests than it can serve at once: it refuses the excess
with 503 + Retry-After (or 429), never a 5xx of its own, and keeps serving afterwards.
Loopback only, bounded in count and time."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer
from tests.server.raw_rpc import Answer, send, tool_call
from tests.server.server_process import PUBLIC_URL, running_server, server_env

CONCURRENT = 500


def _refusals_are_retryable(answers: list[Answer]) -> None:
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {200, 429, 503}, statuses
    for answer in answers:
        if answer.status in (429, 503):
            assert answer.retry_after is not None, answer
            assert int(answer.retry_after) >= 1, answer
            assert answer.error is not None, answer  # a JSON-RPC error body, not plain text


async def test_500_concurrent_authenticated_requests_get_no_5xx(issuer: Issuer, module_database: str) -> None:
    env = server_env(issuer, module_database, REDIS, RATE_LIMIT_PER_MINUTE="100000")
    # 50 callers, so both cached and freshly verified tokens are in the mix
    tokens = [issuer.token(PUBLIC_URL, subject=f"load-{i % 50}") for i in range(CONCURRENT)]
    with running_server(env) as server:
        limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            created = await send(
                http, server.url, tokens[0], tool_call("create_note", {"title": "t", "body": "b"})
            )
            assert created.status == 200, created
            note_id = created.body["result"]["structuredContent"]["id"]
            calls = [
                tool_call("get_note", {"note_id": note_id}, i)
                if i % 2
                else tool_call("search_notes", {"query": "note"}, i)
                for i in range(CONCURRENT)
            ]
            answers = await asyncio.gather(
                *(send(http, server.url, token, call) for token, call in zip(tokens, calls, strict=True))
            )
            _refusals_are_retryable(answers)
            assert sum(a.status == 200 for a in answers) > 0
            after = await send(http, server.url, tokens[0], tool_call("get_note", {"note_id": note_id}))
            assert after.status == 200
            assert after.result is not None
        assert server.process.poll() is None
    assert not [line for line in server.lines if "Traceback" in line]


async def test_past_the_concurrency_cap_requests_get_503_with_retry_after(
    issuer: Issuer, module_database: str
) -> None:
    # Two slots, no queue: with requests held in flight, the next is refused at once.
    env = server_env(issuer, module_database, REDIS, MAX_CONCURRENT_REQUESTS="2", QUEUE_SECONDS="0")
    token = issuer.token(PUBLIC_URL, subject="capped")
    with running_server(env) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            answers = await asyncio.gather(
                *(send(http, server.url, token, tool_call("list_tags", {}, i)) for i in range(40))
            )
        _refusals_are_retryable(answers)
        busy = [a for a in answers if a.status == 503]
        assert busy, "40 requests at once through 2 slots: some must be refused"
        assert busy[0].error is not None
        assert busy[0].error["code"] == -32603
        assert busy[0].error["data"]["retryable"] is True
        logged = [json.loads(line) for line in server.lines if '"status":503' in line]
        assert logged
        assert all(entry["outcome"] == "http_503" for entry in logged)
