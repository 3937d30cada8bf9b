"""The gateway in front of real servers on loopback: our notes server (Postgres, auth through
the gateway's own tokens) and a third-party SDK server without auth, tokens from a local issuer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.gateway.processes import Process, gateway_env, running_gateway, running_upstream
from tests.server.conftest import REDIS, drop_database, make_database
from tests.server.issuer import Issuer, free_port, running_issuer
from tests.server.server_process import running_server, server_env


@dataclass
class Platform:
    gateway: Process
    notes: object
    plain: Process
    issuer: Issuer

    def url(self, route: str) -> str:
        return f"{self.gateway.base}/{route}/mcp"

    def token(self, route: str, scope: str, **claims: Any) -> str:
        return self.issuer.token(self.url(route), scope=scope, **claims)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def platform(issuer: Issuer) -> Iterator[Platform]:
    gw_port, notes_port, closed_port = free_port(), free_port(), free_port()
    slow_server = _slow_upstream()
    slow_port = slow_server.server_address[1]
    gateway = f"http://127.0.0.1:{gw_port}"
    database = make_database()
    routes = {
        "notes": {
            "upstream": f"http://127.0.0.1:{notes_port}",
            "scopes": ["notes:read", "notes:write"],
            "tool_scopes": {n: ["notes:write"] for n in ("create_note", "update_note", "delete_note")},
        },
        "plain": {"upstream": "http://127.0.0.1:{plain}", "scopes": ["plain:use"]},
        "down": {"upstream": f"http://127.0.0.1:{closed_port}", "scopes": []},
        "slow": {"upstream": f"http://127.0.0.1:{slow_port}", "scopes": []},
    }
    try:
        with running_upstream("plain") as plain:
            routes["plain"]["upstream"] = f"http://127.0.0.1:{plain.port}"  # type: ignore[index]
            env = gateway_env(
                gw_port,
                routes,
                AUTH_ISSUER=issuer.url,
                REDIS_URL=REDIS,
                REDIS_KEY_PREFIX=f"gw-test-{gw_port}:",
                UPSTREAM_READ_TIMEOUT_SECONDS="2",
                RATE_LIMIT_PER_MINUTE="100000",
                MAX_REQUEST_BYTES="65536",
                GATEWAY_ALLOWED_ORIGINS="https://app.example",
            )
            with running_gateway(env) as gw:
                notes_env = server_env(
                    None,
                    database,
                    REDIS,
                    MCP_PUBLIC_URL=f"{gateway}/notes/mcp",
                    AUTH_ISSUER=f"{gateway}/gateway",
                    AUTH_JWKS_URL=f"{gateway}/.well-known/jwks.json",
                    AUTH_JWKS_ALLOW_HTTP="true",
                    RATE_LIMIT_PER_MINUTE="100000",
                )
                with running_server(notes_env, port=notes_port) as notes:
                    yield Platform(gw, notes, plain, issuer)
    finally:
        slow_server.shutdown()
        drop_database(database)


def _slow_upstream() -> ThreadingHTTPServer:
    """Answers every request only after 4 s: slower than the gateway's 2 s read timeout."""

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(4)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
