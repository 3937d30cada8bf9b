"""Two real stdio servers, each behind a real `mcp-bridge serve`, behind a real `mcp-gateway serve`:
`everything` (npm, a stateless pool), `time` (PyPI, a stateless pool) and `sticky` (everything
again, one child per session, a short idle timeout)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bridge.bridges import EVERYTHING, TIME, running_bridge
from tests.bridge.packages import installed
from tests.gateway.processes import Process, gateway_env, running_gateway
from tests.server.issuer import free_port

# Long enough that a session is never reaped between its initialize and its first request on a
# loaded 2-core machine (CI saw a 404 there at 2 s), short enough for 200 sessions to cycle.
STICKY_IDLE_SECONDS = 4
STICKY_MAX_PROCESSES = 24


@dataclass
class Platform:
    gateway: Process
    bridges: dict[str, Process]

    def url(self, route: str) -> str:
        return f"{self.gateway.base}/{route}/mcp"


@pytest.fixture(scope="session")
def everything_prefix() -> Path:
    return installed(EVERYTHING)


@pytest.fixture(scope="session")
def time_prefix() -> Path:
    return installed(TIME)


@pytest.fixture(scope="module")
def platform(everything_prefix: Path, time_prefix: Path) -> Iterator[Platform]:
    with (
        running_bridge(everything_prefix, "everything") as everything,
        running_bridge(time_prefix, "time") as time_bridge,
        running_bridge(
            everything_prefix,
            "sticky",
            BRIDGE_SESSIONS="sticky",
            BRIDGE_IDLE_SECONDS=str(STICKY_IDLE_SECONDS),
            BRIDGE_MAX_PROCESSES=str(STICKY_MAX_PROCESSES),
        ) as sticky,
    ):
        bridges = {"everything": everything, "time": time_bridge, "sticky": sticky}
        routes = {
            name: {
                "upstream": f"http://127.0.0.1:{bridge.port}",
                **({"sticky": True} if name == "sticky" else {}),
            }
            for name, bridge in bridges.items()
        }
        env = gateway_env(free_port(), routes, RATE_LIMIT_PER_MINUTE="1000000")
        with running_gateway(env) as gateway:
            yield Platform(gateway, bridges)
