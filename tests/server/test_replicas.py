"""Two server processes sharing Postgres and Redis behave as one service: one rate limit, each
other's writes, each other's cache invalidations, and multi-round-trip requests that finish on
the other replica."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from mcp_types import ElicitResult

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer
from tests.server.mcp_client import connect, structured
from tests.server.server_process import PUBLIC_URL, ServerProcess, running_server, server_env

BUDGET = 6
SYNC = 0.05


@pytest.fixture(scope="module")
def replicas(issuer: Issuer, module_database: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = server_env(issuer, module_database, REDIS, SEARCH_CACHE_SECONDS="300")
    with running_server(env) as a, running_server(env) as b:
        yield a, b


def list_tags(server: ServerProcess, token: str) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "list_tags", "arguments": {}},
    }
    headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
    return httpx.post(server.url, json=body, headers=headers, timeout=10)


def test_one_rate_limit_across_replicas(issuer: Issuer, module_database: str) -> None:
    """Each replica decides locally and syncs every REDIS_SYNC_SECONDS; with a sync between
    requests the budget is shared exactly (the limiter's docstring bounds it without)."""
    env = server_env(
        issuer, module_database, REDIS, RATE_LIMIT_PER_MINUTE=str(BUDGET), REDIS_SYNC_SECONDS=str(SYNC)
    )
    with running_server(env) as a, running_server(env) as b:
        _spend_the_budget(a, b, issuer)


def _spend_the_budget(a: ServerProcess, b: ServerProcess, issuer: Issuer) -> None:
    token = issuer.token(PUBLIC_URL, subject="chatty")
    statuses = []
    for i in range(BUDGET + 2):
        statuses.append(list_tags(a if i % 2 else b, token).status_code)
        time.sleep(4 * SYNC)  # the replica that answered has synced before the other is asked
    assert statuses == [200] * BUDGET + [429, 429]
    refused = list_tags(a, token)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60 // BUDGET
    assert refused.json()["error"]["code"] == -32029
    assert list_tags(b, issuer.token(PUBLIC_URL, subject="quiet")).status_code == 200  # per subject
    assert a.metric("mcp_rate_limited_total") + b.metric("mcp_rate_limited_total") == 3


async def test_writes_and_cache_invalidation_cross_replicas(
    replicas: tuple[ServerProcess, ServerProcess], issuer: Issuer
) -> None:
    a, b = replicas
    token = issuer.token(PUBLIC_URL, subject="collaborator")
    async with connect(a.url, token, "2026-07-28") as on_a, connect(b.url, token, "legacy") as on_b:
        note = structured(await on_a.call_tool("create_note", {"title": "Zebra crossing", "body": "stripes"}))
        assert structured(await on_b.call_tool("get_note", {"note_id": note["id"]}))["body"] == "stripes"
        first = structured(await on_a.call_tool("search_notes", {"query": "zebra"}))  # now cached in Redis
        assert [r["title"] for r in first["results"]] == ["Zebra crossing"]
        await on_b.call_tool("update_note", {"note_id": note["id"], "title": "Zebra migration"})
        again = structured(await on_a.call_tool("search_notes", {"query": "zebra"}))
        assert [r["title"] for r in again["results"]] == ["Zebra migration"]  # not the stale page


async def test_a_confirmation_started_on_one_replica_finishes_on_the_other(
    replicas: tuple[ServerProcess, ServerProcess], issuer: Issuer
) -> None:
    a, b = replicas

    async def yes(_ctx, _params):
        return ElicitResult(action="accept", content={"confirm": True})

    token = issuer.token(PUBLIC_URL, subject="roamer")
    async with connect(a.url, token, "2026-07-28") as client:
        note = structured(await client.call_tool("create_note", {"title": "Temp", "body": "x"}))
    # Round-robin, like a load balancer: the first round trip goes to A, the retry to B.
    async with connect([a.url, b.url], token, "2026-07-28", elicitation_callback=yes) as client:
        result = structured(await client.call_tool("delete_note", {"note_id": note["id"]}))
    assert result == {"deleted": True, "id": note["id"]}


async def test_a_replica_with_another_state_key_refuses_the_retry(
    issuer: Issuer, module_database: str
) -> None:
    shared = server_env(issuer, module_database, REDIS)
    other = {**shared, "MCP_REQUEST_STATE_KEY": "a-different-test-key-fedcba9876543210-xyz"}

    async def yes(_ctx, _params):
        return ElicitResult(action="accept", content={"confirm": True})

    token = issuer.token(PUBLIC_URL, subject="roamer-2")
    with running_server(shared) as a, running_server(other) as c:
        async with connect(a.url, token, "2026-07-28") as client:
            note = structured(await client.call_tool("create_note", {"title": "Keep", "body": "x"}))
        async with connect([a.url, c.url], token, "2026-07-28", elicitation_callback=yes) as client:
            with pytest.raises(Exception, match="Invalid or expired requestState"):
                await client.call_tool("delete_note", {"note_id": note["id"]})
        async with connect(a.url, token, "2026-07-28") as client:
            assert structured(await client.call_tool("get_note", {"note_id": note["id"]}))["title"] == "Keep"


async def test_a_tenant_claim_separates_the_same_subject(issuer: Issuer, module_database: str) -> None:
    env = server_env(issuer, module_database, REDIS, AUTH_TENANT_CLAIM="org")
    acme = issuer.token(PUBLIC_URL, subject="sam", org="acme")
    globex = issuer.token(PUBLIC_URL, subject="sam", org="globex")
    with running_server(env) as server:
        async with connect(server.url, acme, "2026-07-28") as client:
            note = structured(await client.call_tool("create_note", {"title": "Acme roadmap", "body": "x"}))
        async with connect(server.url, globex, "2026-07-28") as client:
            missing = await client.call_tool("get_note", {"note_id": note["id"]})
            assert missing.is_error
        no_org = issuer.token(PUBLIC_URL, subject="sam")
        assert list_tags(server, no_org).status_code == 401
