"""Real processes for the verify tests: `make dev` itself, a gateway started by hand, and
mcp-verify run as its users run it (a process, judged by its exit status and table)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEV = "http://127.0.0.1:8000"  # make dev's address, fixed in mcp_gateway/dev.py
START_SECONDS = 180  # a clean clone installs mcp-server-time on the first `make dev`


@contextmanager
def running_make_dev(issuer: str, token: str, log: Path) -> Iterator[str]:
    """`make dev AUTH_ISSUER=...`, until its routes answer a signed-in client."""
    if _listening(8000):
        raise RuntimeError("127.0.0.1:8000 is taken (another make dev?); make dev cannot start")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "GATEWAY_", "MCP_", "MAKE"))}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["make", "-s", "dev", f"AUTH_ISSUER={issuer}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, the gateway and its children: one group to stop
        )
    try:
        for route in ("notes", "time"):
            _wait_answering(f"{DEV}/{route}/mcp", token, process, log)
        yield DEV
    finally:
        _stop_group(process)
        # make is gone; its gateway may still be draining: the port must be free for whoever is next.
        deadline = time.monotonic() + 20
        while _listening(8000) and time.monotonic() < deadline:
            time.sleep(0.1)


@contextmanager
def running_gateway(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with _running([str(ROOT / "gateway" / ".venv" / "bin" / "mcp-gateway"), "serve"], env, port, log) as base:
        yield base


@contextmanager
def running_notes(port: int, directory: Path) -> Iterator[str]:
    """The notes server on its embedded defaults with auth off, as make dev runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MCP_", "DATABASE_", "REDIS_"))}
    env |= {"MCP_HOST": "127.0.0.1", "MCP_PORT": str(port), "MCP_SQLITE_PATH": str(directory / "notes.db")}
    command = [str(ROOT / "server" / ".venv" / "bin" / "python"), "-m", "mcp_notes", "serve"]
    with _running(command, env, port, directory / "notes.log") as base:
        yield base


@contextmanager
def _running(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_health(base, process, log)
        yield base
    finally:
        _stop_group(process)


def gateway_env(port: int, public_url: str, routes: dict[str, Any], issuer: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "GATEWAY_", "MCP_", "REDIS_"))}
    env |= {
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_PUBLIC_URL": public_url,
        "GATEWAY_ROUTES": json.dumps(routes),
        "DRAIN_SECONDS": "1",
    }
    return env | ({"AUTH_ISSUER": issuer} if issuer else {})


def run_verify(
    *args: str, token: str | None = None, ssl_cert_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TOKEN", "ROUTES", "SSL_CERT_FILE")}
    if token:
        env["TOKEN"] = token  # as the Makefile passes it: not on the command line
    if ssl_cert_file is not None:
        env["SSL_CERT_FILE"] = str(ssl_cert_file)
    return subprocess.run(
        [sys.executable, "-m", "mcp_verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rows(output: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(check, route) -> (verdict, detail), from the printed table."""
    table: dict[tuple[str, str], tuple[str, str]] = {}
    for line in output.splitlines():
        cells = line.split(None, 3)
        if len(cells) >= 3 and cells[2] in ("PASS", "FAIL", "WARN", "N/A"):
            table[(cells[0], cells[1])] = (cells[2], cells[3] if len(cells) > 3 else "")
    return table


def _wait_answering(url: str, token: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until an authenticated initialize gets 200: the gateway, its issuer keys and the route's
    server (notes, or the bridge's first child) are all up."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
    ).encode()
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "authorization": f"Bearer {token}",
    }
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        _still_running(process, log)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {START_SECONDS} s:\n{_tail(log)}")


def _wait_health(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _still_running(process, log)
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{base} did not start:\n{_tail(log)}")


def _still_running(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"exited with {process.returncode} at start:\n{_tail(log)}")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the group this test started (the gateway stops its own children on it)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-30:])
