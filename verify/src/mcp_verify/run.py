"""The checks in order, per route, then the ones about the whole URL."""

from __future__ import annotations

from mcp_verify import auth, exposure, transport
from mcp_verify.auth import RouteAuth
from mcp_verify.probe import Probe, new_client
from mcp_verify.report import Result
from mcp_verify.stream import stream
from mcp_verify.target import Target


async def verify(
    target: Target, token: str | None, request_seconds: float, stream_seconds: float
) -> list[Result]:
    async with new_client(request_seconds) as client:
        probe = Probe(client)
        results = [await transport.certificate(target, request_seconds)]
        for route in target.routes:
            found = RouteAuth()
            results.append(await transport.http_redirect(target, probe, route))
            results.append(await auth.challenge(target, probe, route, found))
            results += await auth.metadata(target, probe, route, found)
            results.append(await stream(target, probe, route, token, found.auth_on, stream_seconds))
            results.append(transport.hsts(target, route, found.responses))
            results.append(exposure.nosniff(route, found.responses))
        results.append(await exposure.metrics_private(target, probe))
        results.append(transport.no_downgrade(probe))
    return results
