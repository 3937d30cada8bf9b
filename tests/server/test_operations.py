"""Operations support: probes, metrics, graceful shutdown, settings refused at start, and the
embedded default that `make dev` runs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer
from tests.server.mcp_client import MODES, connect, structured
from tests.server.server_process import PUBLIC_URL, ServerProcess, running_server, server_env


def test_health_is_alive_without_dependencies(server: ServerProcess) -> None:
    response = httpx.get(f"{server.base}/health", timeout=5)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_checks_the_database_only(server: ServerProcess) -> None:
    """Redis is no readiness check: a replica serves without it (test_ready.py: each failure)."""
    response = httpx.get(f"{server.base}/ready", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgres": "ok"}, "failed": [], "degraded": {}}


async def test_metrics_count_requests_latency_and_pool(server: ServerProcess, issuer: Issuer) -> None:
    before = server.metric("mcp_requests_total", method="tools/call", tool="list_tags", status="ok")
    errors_before = server.metric("mcp_tool_errors_total", tool="get_note")
    async with connect(server.url, issuer.token(PUBLIC_URL, subject="counted"), "2026-07-28") as client:
        await client.call_tool("list_tags", {})
        await client.call_tool("get_note", {"note_id": "nope"})
    assert (
        server.metric("mcp_requests_total", method="tools/call", tool="list_tags", status="ok") == before + 1
    )
    assert server.metric("mcp_requests_total", method="tools/call", tool="get_note", status="tool_error") >= 1
    assert server.metric("mcp_request_duration_seconds_count", method="tools/call", tool="list_tags") >= 1
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{server.base}/metrics")).text
    assert "mcp_db_pool_connections_in_use " in text
    assert server.metric("mcp_tool_errors_total", tool="get_note") == errors_before + 1


def test_request_log_lines_carry_id_subject_method_tool_status_duration(
    server: ServerProcess, issuer: Issuer
) -> None:
    token = issuer.token(PUBLIC_URL, subject="logged-user")
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "list_tags", "arguments": {}},
    }
    response = httpx.post(
        server.url,
        json=body,
        timeout=5,
        headers={
            "authorization": f"Bearer {token}",
            "accept": "application/json, text/event-stream",
            "x-request-id": "lb-trace-123",
        },
    )
    assert response.headers["x-request-id"] == "lb-trace-123"
    time.sleep(0.2)
    [line] = [e for e in server.request_logs() if e.get("request_id") == "lb-trace-123"]
    assert line["subject"] == "logged-user"
    assert (line["method"], line["tool"], line["status"], line["outcome"]) == (
        "tools/call",
        "list_tags",
        200,
        "ok",
    )
    assert isinstance(line["duration_ms"], float)
    assert token not in str(server.logs())


async def test_sigterm_finishes_in_flight_requests_then_exits(issuer: Issuer, module_database: str) -> None:
    env = server_env(issuer, module_database, REDIS, DRAIN_SECONDS="15")
    token = issuer.token(PUBLIC_URL, subject="late-writer")
    with running_server(env) as server:
        async with connect(server.url, token, "2026-07-28") as client:
            await client.call_tool("list_tags", {})  # schema migrated, pool warm
        blocker = await asyncpg.connect(module_database)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")  # create_note must wait

        async def slow_write() -> dict:
            # Raw HTTP: the official client follows a call with a tools/list on a new
            # connection, which a draining server rightly refuses (the LB sends it elsewhere).
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "create_note", "arguments": {"title": "in flight", "body": "x"}},
            }
            headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.post(server.url, json=body, headers=headers)
            assert response.status_code == 200
            return response.json()["result"]["structuredContent"]

        write = asyncio.create_task(slow_write())
        await asyncio.sleep(1.0)
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1.0)
        assert server.process.poll() is None, "it must wait for the in-flight request"
        with pytest.raises(httpx.HTTPError):  # no new requests while draining
            async with httpx.AsyncClient(timeout=2) as http:
                await http.get(f"{server.base}/health")
        await transaction.rollback()  # let the write through
        await blocker.close()
        note = await asyncio.wait_for(write, 10)
        assert note["title"] == "in flight"
        # uvicorn re-raises SIGTERM once shutdown is clean, so the exit status says how it ended
        assert server.process.wait(15) == -signal.SIGTERM
    messages = [e.get("message") for e in server.logs()]
    assert "Waiting for application shutdown." in messages
    assert "Application shutdown complete." in messages


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL: must be a postgresql://"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL:"),
        ({"MCP_HOST": "0.0.0.0"}, "MCP_PUBLIC_URL: required when listening on 0.0.0.0"),
        (
            {
                "MCP_HOST": "0.0.0.0",
                "MCP_PUBLIC_URL": "https://mcp.example.com/mcp",
                "MCP_REQUEST_STATE_KEY": "k" * 32,
            },
            "AUTH_ISSUER: required when listening on 0.0.0.0",
        ),
        ({"AUTH_ISSUER": "https://login.example.com"}, "AUTH_AUDIENCE: required with AUTH_ISSUER"),
        ({"AUTH_ALGORITHMS": "HS256"}, "AUTH_ALGORITHMS: Value error, only asymmetric"),
        ({"MCP_REQUEST_STATE_KEY": "short"}, "at least 32 bytes"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL:"),
    ],
)
def test_a_bad_environment_stops_the_process_with_one_message(env: dict[str, str], expected: str) -> None:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MCP_", "DATABASE_", "REDIS_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "mcp_notes", "serve"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("mcp-notes: invalid environment:\n")
    assert expected.replace("Value error, ", "") in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", MODES)
async def test_the_embedded_default_needs_no_services(tmp_path: Path, mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MCP_", "DATABASE_", "REDIS_"))}
    env["MCP_SQLITE_PATH"] = str(tmp_path / "dev.db")
    with running_server(env) as server:
        async with connect(server.url, None, mode) as client:
            note = structured(await client.call_tool("create_note", {"title": "Local", "body": "sqlite"}))
            found = structured(await client.call_tool("search_notes", {"query": "sqlite"}))
            assert [r["id"] for r in found["results"]] == [note["id"]]
        async with httpx.AsyncClient(timeout=5) as http:
            ready = (await http.get(f"{server.base}/ready")).json()
        assert ready["checks"] == {"sqlite": "ok"}
    warnings = [e["message"] for e in server.logs() if e.get("level") == "WARNING"]
    assert any(m.startswith("AUTHENTICATION IS OFF") for m in warnings)


def test_a_redis_ca_is_trusted_for_rediss_and_must_be_pem() -> None:
    from redis.asyncio import Redis

    from mcp_notes.settings import SettingsError, load_settings
    from mcp_notes.shared.redis_link import redis_options
    from tests.server.certs import make_ca, pem

    ca_pem = pem(make_ca("test-only redis CA")[1])
    settings = load_settings({"REDIS_URL": "rediss://:x@cache.internal:6378/0", "REDIS_CA_CERT": ca_pem})
    client = Redis.from_url(str(settings.redis_url), **redis_options(settings))
    assert client.connection_pool.connection_kwargs["ssl_ca_data"] == ca_pem
    # Memorystore's certificate names an IP, not our host: the chain is checked, the name is not.
    assert client.connection_pool.connection_kwargs["ssl_check_hostname"] is False
    assert client.connection_pool.connection_kwargs["ssl_cert_reqs"] == "required"
    with pytest.raises(SettingsError, match="REDIS_CA_CERT: must be a PEM certificate"):
        load_settings({"REDIS_CA_CERT": "not a certificate"})


def test_every_setting_is_documented() -> None:
    from mcp_notes.settings import Settings

    readme = (Path(__file__).resolve().parents[2] / "server" / "README.md").read_text()
    for field in Settings.model_fields.values():
        assert f"`{field.validation_alias}`" in readme, f"server/README.md lacks {field.validation_alias}"


def test_field_and_serving_problems_come_in_the_same_message() -> None:
    from mcp_notes.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as caught:
        load_settings({"DATABASE_URL": "mysql://db/x", "MCP_HOST": "0.0.0.0"})
    named = [line.strip().split(":")[0] for line in str(caught.value).splitlines()[1:]]
    assert named == ["DATABASE_URL", "MCP_PUBLIC_URL", "AUTH_ISSUER", "MCP_REQUEST_STATE_KEY"]
