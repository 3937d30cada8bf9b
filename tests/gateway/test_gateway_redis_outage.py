"""Redis down under the gateway: limits and the session map fall back to this replica, and no
request gets a 5xx of the gateway's own making (a private Redis, killed mid-load)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.gateway.processes import gateway_env, running_gateway, running_upstream
from tests.server.issuer import free_port
from tests.server.redis_server import private_redis

ACCEPT = {"accept": "application/json, text/event-stream"}  # a stateless 2025-11-25 call: no session needed
CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "echo", "arguments": {"text": "hi"}},
}


def test_a_redis_outage_never_turns_into_a_gateway_5xx() -> None:
    with private_redis() as redis, running_upstream("plain") as plain:
        port = free_port()
        routes = {"plain": {"upstream": f"http://127.0.0.1:{plain.port}", "scopes": []}}
        env = gateway_env(port, routes, REDIS_URL=redis.url, RATE_LIMIT_PER_MINUTE="100000")
        with running_gateway(env) as gateway:
            url = f"{gateway.base}/plain/mcp"

            def burst(count: int) -> list[int]:
                with ThreadPoolExecutor(max_workers=8) as pool:
                    return list(
                        pool.map(
                            lambda _: httpx.post(url, json=CALL, headers=ACCEPT, timeout=10).status_code,
                            range(count),
                        )
                    )

            assert set(burst(40)) == {200}
            redis.kill()
            deadline = time.monotonic() + 5
            during: list[int] = []
            while time.monotonic() < deadline:
                during += burst(16)
            assert during
            assert [status for status in during if status >= 500] == []
            assert httpx.get(f"{gateway.base}/health").status_code == 200
            assert gateway.process.poll() is None  # still serving, never restarted
