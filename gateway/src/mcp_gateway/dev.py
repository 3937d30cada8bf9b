"""`mcp-gateway dev` (what `make dev` runs): the local platform on http://127.0.0.1:8000.

Our notes server runs on a free loopback port on its embedded defaults (SQLite, in-process
limits) and the gateway routes /notes/mcp to it. Auth is off unless AUTH_ISSUER is set; then
both are configured as on a platform: the gateway validates client tokens from that issuer,
and the notes server validates the gateway's own tokens through the gateway's JWKS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from mcp_gateway.settings import SettingsError, load_settings
from mcp_notes import logs

GATEWAY = "http://127.0.0.1:8000"


def run_dev() -> int:
    notes_port = _free_port()
    issuer = os.environ.get("AUTH_ISSUER")
    route_url = f"{GATEWAY}/notes/mcp"
    notes_env = {
        **os.environ,
        "MCP_HOST": "127.0.0.1",
        "MCP_PORT": str(notes_port),
        "MCP_PUBLIC_URL": route_url,
    }
    notes_env.pop("AUTH_AUDIENCE", None)
    if issuer:
        notes_env |= {
            "AUTH_ISSUER": f"{GATEWAY}/gateway",
            "AUTH_JWKS_URL": f"{GATEWAY}/.well-known/jwks.json",
            "AUTH_AUDIENCE": route_url,
        }
    notes = subprocess.Popen([sys.executable, "-m", "mcp_notes", "serve"], env=notes_env)
    try:
        if not _wait_healthy(f"http://127.0.0.1:{notes_port}/health", notes):
            print("mcp-gateway dev: the notes server did not start", file=sys.stderr)
            return 1
        routes = {
            "notes": {
                "upstream": f"http://127.0.0.1:{notes_port}",
                "path": "/mcp",
                "scopes": ["notes:read", "notes:write"],
            }
        }
        env = {
            **os.environ,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": "8000",
            "GATEWAY_PUBLIC_URL": GATEWAY,
            "GATEWAY_ROUTES": json.dumps(routes),
        }
        try:
            settings = load_settings(env)
        except SettingsError as error:
            print(f"mcp-gateway: {error}", file=sys.stderr)
            return 2
        logs.configure(settings.log_level)
        from mcp_gateway.__main__ import serve

        return serve(settings)
    finally:
        notes.terminate()
        try:
            notes.wait(15)
        except subprocess.TimeoutExpired:
            notes.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False
