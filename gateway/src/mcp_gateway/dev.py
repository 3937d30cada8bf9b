"""`mcp-gateway dev` (what `make dev` runs): the local platform on http://127.0.0.1:8000.

Our notes server runs on a free loopback port on its embedded defaults (SQLite, in-process
limits) and the gateway routes /notes/mcp to it. Auth is off unless AUTH_ISSUER is set; then
both are configured as on a platform: the gateway validates client tokens from that issuer,
and the notes server validates the gateway's own tokens through the gateway's JWKS.

With DEV_BRIDGE (the mcp-bridge program) and DEV_TIME_PREFIX (where `mcp-bridge install` put
mcp-server-time, see the Makefile's dev target) set, a bridge serves that stdio server on another
free loopback port and the gateway routes /time/mcp to it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from mcp_gateway.settings import SettingsError, load_settings
from mcp_notes import logs

GATEWAY = "http://127.0.0.1:8000"


def run_dev() -> int:
    notes_port = _free_port()
    notes_env = notes_environment(notes_port)
    routes = {
        "notes": {
            "upstream": f"http://127.0.0.1:{notes_port}",
            "path": "/mcp",
            "scopes": ["notes:read", "notes:write"],
        }
    }
    bridge = _bridge_command()
    bridge_port = _free_port()
    if bridge is not None:
        routes["time"] = {"upstream": f"http://127.0.0.1:{bridge_port}", "path": "/mcp", "scopes": []}
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
    from mcp_gateway.cli import serve

    # The gateway first, then the notes server: with auth on, notes fetches the gateway's keys as
    # it starts, and a gateway that is not up yet would leave it without keys for its first call.
    started: list[subprocess.Popen[bytes]] = []
    if bridge is not None:
        started.append(subprocess.Popen(bridge, env=bridge_environment(bridge_port)))
    threading.Thread(
        target=_start_notes_when_the_gateway_answers, args=(notes_env, started), daemon=True
    ).start()
    try:
        return serve(settings)
    finally:
        for child in started:
            child.terminate()
        for child in started:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()


def _start_notes_when_the_gateway_answers(
    env: dict[str, str], started: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{GATEWAY}/health", timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    started.append(subprocess.Popen([sys.executable, "-m", "mcp_notes", "serve"], env=env))


def _bridge_command() -> list[str] | None:
    program, prefix = os.environ.get("DEV_BRIDGE"), os.environ.get("DEV_TIME_PREFIX")
    if not program or not prefix:
        return None
    return [program, "serve"]


def notes_environment(port: int) -> dict[str, str]:
    """The notes server's: on loopback behind the gateway; with AUTH_ISSUER set, it trusts the
    gateway's tokens (the gateway validates the caller's)."""
    route_url = f"{GATEWAY}/notes/mcp"
    env = child_environment() | {"MCP_HOST": "127.0.0.1", "MCP_PORT": str(port), "MCP_PUBLIC_URL": route_url}
    env.pop("AUTH_AUDIENCE", None)
    if os.environ.get("AUTH_ISSUER"):
        env |= {
            "AUTH_ISSUER": f"{GATEWAY}/gateway",
            "AUTH_JWKS_URL": f"{GATEWAY}/.well-known/jwks.json",
            "AUTH_AUDIENCE": route_url,
        }
    return env


def child_environment() -> dict[str, str]:
    """What the notes server and the bridge inherit from `make dev`'s environment: all of it but
    OTEL_SERVICE_NAME, which names the gateway; each child reports under its own default name
    (mcp-notes, mcp-bridge) so that their spans are not taken for the gateway's."""
    return {key: value for key, value in os.environ.items() if key != "OTEL_SERVICE_NAME"}


def bridge_environment(port: int) -> dict[str, str]:
    env = {k: v for k, v in child_environment().items() if not k.startswith(("BRIDGE_", "AUTH_"))}
    return env | {
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(port),
        "BRIDGE_NAME": "time",
        "BRIDGE_PREFIX": os.environ["DEV_TIME_PREFIX"],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
