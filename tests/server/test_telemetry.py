"""mcp_notes.telemetry: tracing only when an OTLP endpoint is set (off: no SDK, no exporter, no
thread), and Sentry events scrubbed of credentials, on a hand-made realistic event and on what the
real sentry-sdk sends to a local ingest."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from mcp_notes.telemetry import FILTERED, Scrubber

# Builds the real app, as `mcp-notes serve` does, then reports what tracing left in the process.
PROBE = """
import json, sys, threading
from mcp_notes import telemetry
from mcp_notes.app import create_app
from mcp_notes.settings import load_settings
telemetry.setup("mcp-notes")
create_app(load_settings())
from opentelemetry import trace
print(json.dumps({
    "tracing": telemetry.tracing_enabled(),
    "sdk": "opentelemetry.sdk.trace" in sys.modules,
    "exporter": any(m.startswith("opentelemetry.exporter") for m in sys.modules),
    "sentry": "sentry_sdk" in sys.modules,
    "threads": sorted(t.name for t in threading.enumerate()),
    "provider": type(trace.get_tracer_provider()).__name__,
}))
"""


def _probe(tmp_path: Any, **extra: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_", "MCP_", "AUTH_"))}
    env |= {"MCP_HOST": "127.0.0.1", "MCP_SQLITE_PATH": str(tmp_path / "n.db"), **extra}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tracing_is_off_without_an_endpoint_and_loads_nothing(tmp_path: Any) -> None:
    state = _probe(tmp_path)
    assert state["tracing"] is False
    assert state["sdk"] is False
    assert state["exporter"] is False
    assert state["sentry"] is False
    assert state["threads"] == ["MainThread"]
    assert state["provider"] == "ProxyTracerProvider"  # the API's no-op default


def test_tracing_is_on_with_an_endpoint(tmp_path: Any) -> None:
    state = _probe(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert state["tracing"] is True
    assert state["sdk"] is True
    assert state["exporter"] is True
    assert "OtelBatchSpanRecordProcessor" in state["threads"]
    assert state["provider"] == "TracerProvider"


def test_otel_sdk_disabled_wins_over_an_endpoint(tmp_path: Any) -> None:
    state = _probe(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_SDK_DISABLED="true")
    assert state["tracing"] is False
    assert state["threads"] == ["MainThread"]


# --- Sentry ------------------------------------------------------------------------------------

DB_PASSWORD = "pg-pa55word-x1"
REDIS_PASSWORD = "r3dis-secret-y2"
SIGNING_KEY = "signing-key-material-0123456789"
STATE_KEY = "state-key-abcdefghijklmnop"
ENV = {
    "DATABASE_URL": f"postgresql://notes:{DB_PASSWORD}@db.internal:5432/notes",
    "REDIS_URL": f"rediss://default:{REDIS_PASSWORD}@cache.internal:6380/0",
    "GATEWAY_SIGNING_KEY": SIGNING_KEY,
    "MCP_REQUEST_STATE_KEY": STATE_KEY,
    "LOG_LEVEL": "INFO",
}
ACCESS_TOKEN = jwt.encode(
    {"sub": "alice", "aud": "https://mcp.example/notes/mcp"}, "k" * 32, algorithm="HS256"
)
OPAQUE_TOKEN = "opaque-token-9f8e7d6c5b4a"


def _realistic_event() -> dict[str, Any]:
    """Shaped like what sentry-sdk sends for a logged exception in a request handler."""
    return {
        "event_id": "5f2b1c0e9d8a4b7c8e6f5a4b3c2d1e0f",
        "level": "error",
        "logger": "mcp_gateway",
        "logentry": {"message": "unhandled error", "params": []},
        "environment": "prod",
        "exception": {
            "values": [
                {
                    "type": "ConnectionError",
                    "value": f"cannot reach {ENV['REDIS_URL']} (token {ACCESS_TOKEN})",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "mcp_gateway/pipeline.py",
                                "function": "_forward",
                                "context_line": f'sent.append((b"authorization", b"Bearer {OPAQUE_TOKEN}"))',
                                "vars": {"token": ACCESS_TOKEN, "route": "notes"},
                            }
                        ]
                    },
                }
            ]
        },
        "request": {
            "method": "POST",
            "url": "https://mcp.example/notes/mcp",
            "headers": {
                "Authorization": f"Bearer {ACCESS_TOKEN}",
                "Cookie": "GAESA=abc123def456",
                "Content-Type": "application/json",
                "Mcp-Session-Id": "s-1",
            },
            "cookies": {"GAESA": "abc123def456"},
        },
        "extra": {
            "request_id": "ab12cd34",
            "upstream_headers": [["authorization", f"Bearer {OPAQUE_TOKEN}"], ["accept", "application/json"]],
            "settings": f"signing key is {SIGNING_KEY}, state key {STATE_KEY}",
            "sys.argv": ["mcp-gateway", "serve"],
        },
        "breadcrumbs": {
            "values": [
                {"category": "httplib", "data": {"url": f"https://user:{DB_PASSWORD}@example.test/x"}},
                {"category": "log", "message": f"connecting to {ENV['DATABASE_URL']}"},
                {"category": "log", "message": f"password {DB_PASSWORD} rejected"},
            ]
        },
        "contexts": {
            "trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}
        },
    }


SECRETS = [DB_PASSWORD, REDIS_PASSWORD, SIGNING_KEY, STATE_KEY, ACCESS_TOKEN, OPAQUE_TOKEN, "abc123def456"]


def test_the_scrubber_removes_every_credential_and_keeps_the_rest() -> None:
    event = _realistic_event()
    scrubbed = Scrubber.from_env(ENV).event(event)
    text = json.dumps(scrubbed)
    for secret in SECRETS:
        assert secret not in text, secret
    assert ACCESS_TOKEN.split(".")[1] not in text  # no part of the JWT either
    # What a reader needs stays.
    assert scrubbed["request"]["headers"]["Authorization"] == FILTERED
    assert scrubbed["request"]["headers"]["Content-Type"] == "application/json"
    assert scrubbed["request"]["headers"]["Mcp-Session-Id"] == "s-1"
    assert scrubbed["request"]["cookies"] == FILTERED
    assert scrubbed["exception"]["values"][0]["type"] == "ConnectionError"
    assert "rediss://default:[Filtered]@cache.internal:6380/0" in scrubbed["exception"]["values"][0]["value"]
    frame = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["vars"] == {"token": FILTERED, "route": "notes"}
    assert frame["context_line"].endswith('b"Bearer [Filtered]"))')
    assert scrubbed["extra"]["upstream_headers"] == [
        ["authorization", FILTERED],
        ["accept", "application/json"],
    ]
    assert scrubbed["extra"]["request_id"] == "ab12cd34"
    crumbs = scrubbed["breadcrumbs"]["values"]
    assert crumbs[1]["message"] == "connecting to postgresql://notes:[Filtered]@db.internal:5432/notes"
    assert crumbs[2]["message"] == "password [Filtered] rejected"
    assert scrubbed["contexts"] == event["contexts"]
    assert event["request"]["headers"]["Authorization"].startswith("Bearer ey")  # the input is untouched


def test_short_env_values_are_not_blanked_everywhere() -> None:
    scrubber = Scrubber.from_env({"CACHE_TOKEN": "ab", "LOG_LEVEL": "INFO"})
    assert scrubber.text("a tab and a cab") == "a tab and a cab"


# Logs an exception the way our edges do, with secrets in the message, in extra and in a
# breadcrumb, after telemetry.setup() initialised sentry-sdk; then flushes to the local ingest.
SENTRY_PROBE = """
import logging, os, sentry_sdk
from mcp_notes import logs, telemetry
logs.configure("INFO")
telemetry.setup("mcp-notes")
log = logging.getLogger("mcp_notes.request")
log.info("opening %s", os.environ["DATABASE_URL"])
token = os.environ["PROBE_TOKEN"]
try:
    raise ConnectionError(f"refused: {os.environ['REDIS_URL']} Bearer {token}")
except ConnectionError:
    log.exception("unhandled error", extra={"request_id": "r-1", "authorization": f"Bearer {token}"})
sentry_sdk.flush(10)
"""


@contextmanager
def _ingest() -> Iterator[tuple[int, list[bytes]]]:
    bodies: list[bytes] = []

    class Ingest(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            bodies.append(body)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], bodies
    finally:
        server.shutdown()
        server.server_close()


def test_sentry_receives_the_error_without_credentials() -> None:
    with _ingest() as (port, bodies):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_"))}
        env |= ENV | {
            "SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/42",
            "SENTRY_ENVIRONMENT": "test",
            "PROBE_TOKEN": ACCESS_TOKEN,
        }
        done = subprocess.run([sys.executable, "-c", SENTRY_PROBE], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
    sent = b"\n".join(bodies).decode()
    assert "ConnectionError" in sent
    assert "unhandled error" in sent
    items = [json.loads(line) for line in sent.splitlines() if line.startswith("{")]
    events = [item for item in items if item.get("level") == "error"]
    assert len(events) == 1
    event = events[0]
    assert event["environment"] == "test"
    assert event["extra"]["request_id"] == "r-1"
    assert event["extra"]["authorization"] == FILTERED
    assert "rediss://default:[Filtered]@cache.internal" in event["exception"]["values"][0]["value"]
    for secret in [*SECRETS, "publickey"]:
        assert secret not in json.dumps(event), secret
    assert "opening postgresql://notes:[Filtered]@db.internal" in json.dumps(event["breadcrumbs"])
