"""Real server processes for tests: `mcp-notes serve` on a free port, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.server.issuer import Issuer, free_port

PUBLIC_URL = "https://mcp.test.example/mcp"  # the audience every test token names
STATE_KEY = "test-only-request-state-key-0123456789abcdef"  # >= 32 bytes; not a real secret


@dataclass
class ServerProcess:
    port: int
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> list[dict[str, Any]]:
        parsed = []
        for line in list(self.lines):
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append({"unparsed": line})
        return parsed

    def request_logs(self) -> list[dict[str, Any]]:
        return [entry for entry in self.logs() if entry.get("logger") == "mcp_notes.request"]

    def metric(self, name: str, **labels: str) -> float:
        """The current value of one Prometheus sample, 0 when absent."""
        text = httpx.get(f"{self.base}/metrics", timeout=5).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            sample, _, value = line.rpartition(" ")
            metric_name, _, label_text = sample.partition("{")
            if metric_name != name:
                continue
            have = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
            if have == wanted:
                return float(value)
        return 0.0

    def total(self, name: str) -> float:
        """The sum of every sample of one metric, whatever its labels."""
        text = httpx.get(f"{self.base}/metrics", timeout=5).text
        return sum(
            float(line.rpartition(" ")[2])
            for line in text.splitlines()
            if line.startswith((name + "{", name + " "))
        )

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def server_env(
    issuer: Issuer | None, database_url: str | None, redis_url: str | None, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MCP_", "DATABASE_", "REDIS_"))}
    env.update(
        {
            "MCP_HOST": "127.0.0.1",
            "MCP_PUBLIC_URL": PUBLIC_URL,
            "MCP_REQUEST_STATE_KEY": STATE_KEY,
            "LOG_LEVEL": "INFO",
            "DRAIN_SECONDS": "10",
            # one prefix per call: replicas started from the same env share it, runs never do
            "REDIS_KEY_PREFIX": f"mcp-test-{secrets.token_hex(4)}:",
        }
    )
    if issuer is not None:
        env["AUTH_ISSUER"] = issuer.url
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


@contextmanager
def running_server(env: dict[str, str], port: int | None = None) -> Iterator[ServerProcess]:
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_notes", "serve"],
        env={**env, "MCP_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ServerProcess(port, process)
    reader = threading.Thread(target=_collect, args=(process, server.lines), daemon=True)
    reader.start()
    try:
        _wait_healthy(server)
        yield server
    finally:
        server.stop()
        reader.join(5)


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))


def _wait_healthy(server: ServerProcess, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("server exited at start:\n" + "\n".join(server.lines[-20:]))
        try:
            if httpx.get(f"{server.base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become healthy:\n" + "\n".join(server.lines[-20:]))
