"""Real bridge processes for the bridge tests (loopback only), and what they expose about their
children: pids from /metrics, and the bridge's child processes from /proc."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.gateway.processes import Process, running
from tests.server.issuer import free_port

EVERYTHING = "npm:@modelcontextprotocol/server-everything@2026.8.31"
TIME = "pypi:mcp-server-time==2026.10.19"
_PID = re.compile(r'^bridge_child_pid\{pid="(\d+)",server="[^"]*",state="([a-z]+)"\} 1\.0$', re.M)


def bridge_env(prefix: Path, name: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "MCP_", "GATEWAY_", "AUTH_"))}
    env |= {
        "BRIDGE_PREFIX": str(prefix),
        "BRIDGE_NAME": name,
        "BRIDGE_PORT": str(port),
        "DRAIN_SECONDS": "3",
    }
    return env | extra


@contextmanager
def running_bridge(prefix: Path, name: str, **extra: str) -> Iterator[Process]:
    port = free_port()
    env = bridge_env(prefix, name, port, **extra)
    with running([sys.executable, "-m", "mcp_bridge", "serve"], env, port) as proc:
        wait_until(lambda: len(child_pids(proc)) >= int(extra.get("BRIDGE_POOL_SIZE", "2")), 60)
        yield proc


def child_pids(bridge: Process, state: str | None = None) -> list[int]:
    """Live children by the bridge's own account (/metrics)."""
    return [int(pid) for pid, st in _PID.findall(bridge.metrics()) if state is None or st == state]


def ready_pids(bridge: Process) -> list[int]:
    return child_pids(bridge, "ready") + child_pids(bridge, "busy")


def os_children(pid: int) -> list[int]:
    """The process's children by the kernel's account (/proc), zombies included."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def zombies(pid: int) -> list[int]:
    out = []
    for child in os_children(pid):
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            out.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(check: object, timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s")
