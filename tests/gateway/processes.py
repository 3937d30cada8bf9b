"""Real gateway and upstream processes for the gateway tests (loopback only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.server.issuer import free_port

FAKE_DNS = str(Path(__file__).parent / "fake_dns")


@dataclass
class Process:
    port: int
    process: subprocess.Popen[str]
    host: str = "127.0.0.1"
    lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request_logs(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == "request":
                out.append(entry)
        return out

    def seen(self) -> list[dict[str, str]]:
        return httpx.get(f"{self.base}/seen", timeout=5).json()

    def metrics(self) -> str:
        return httpx.get(f"{self.base}/metrics", timeout=5).text

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


@contextmanager
def running(command: list[str], env: dict[str, str], port: int, host: str = "127.0.0.1") -> Iterator[Process]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = Process(port, process, host)
    reader = threading.Thread(target=_collect, args=(process, proc.lines), daemon=True)
    reader.start()
    try:
        _wait_listening(proc)
        yield proc
    finally:
        proc.stop()
        reader.join(5)


def gateway_env(port: int, routes: dict[str, Any], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "GATEWAY_", "REDIS_", "MCP_"))}
    env |= {
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_ROUTES": json.dumps(routes),
        "DRAIN_SECONDS": "5",
        "PYTHONPATH": os.pathsep.join([FAKE_DNS, env.get("PYTHONPATH", "")]),
    }
    env |= extra
    return env


@contextmanager
def running_gateway(env: dict[str, str]) -> Iterator[Process]:
    with running([sys.executable, "-m", "mcp_gateway", "serve"], env, int(env["GATEWAY_PORT"])) as proc:
        yield proc


@contextmanager
def running_upstream(
    mode: str, port: int | None = None, host: str = "127.0.0.1", **env: str
) -> Iterator[Process]:
    port = port or free_port()
    full = {**os.environ, "HOST": host, **env}
    with running(
        [sys.executable, "-m", "tests.gateway.upstreams", mode, str(port)], full, port, host
    ) as proc:
        yield proc


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))


def _wait_listening(proc: Process, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError("process exited at start:\n" + "\n".join(proc.lines[-20:]))
        try:
            httpx.get(f"{proc.base}/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("process did not start:\n" + "\n".join(proc.lines[-20:]))
