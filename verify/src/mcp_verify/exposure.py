"""What must not be public, and the headers that keep browsers from misreading answers."""

from __future__ import annotations

import httpx

from mcp_verify.probe import Probe, describe
from mcp_verify.report import Result, Verdict
from mcp_verify.target import Target

# A documentation address (RFC 5737), as a load balancer would add for an outside client.
FORWARDED = {"x-forwarded-for": "203.0.113.7"}


async def metrics_private(target: Target, probe: Probe) -> Result:
    url = target.url("/metrics")
    try:
        direct = await probe.send("GET", url)
    except httpx.HTTPError as error:
        return Result("metrics-private", "-", Verdict.WARN, f"GET /metrics: {describe(error)}")
    if direct.status_code in (401, 403, 404):
        return Result("metrics-private", "-", Verdict.PASS, f"GET /metrics: {direct.status_code}")
    if direct.status_code != 200:
        return Result("metrics-private", "-", Verdict.WARN, f"GET /metrics: {direct.status_code}")
    if not target.loopback:
        return Result("metrics-private", "-", Verdict.FAIL, "GET /metrics: 200, served to anyone")
    # On loopback nothing is public and local scrapers are served; what matters is that a
    # request a proxy forwarded is refused, as it will be behind the platform's load balancer.
    forwarded = await probe.send("GET", url, headers=FORWARDED)
    if forwarded.status_code in (401, 403, 404):
        return Result(
            "metrics-private",
            "-",
            Verdict.PASS,
            f"loopback: 200 direct, {forwarded.status_code} when forwarded by a proxy (X-Forwarded-For)",
        )
    return Result(
        "metrics-private",
        "-",
        Verdict.FAIL,
        f"GET /metrics forwarded by a proxy (X-Forwarded-For): {forwarded.status_code}",
    )


def nosniff(route: str, responses: list[httpx.Response]) -> Result:
    if not responses:
        return Result("nosniff", route, Verdict.NA, "no response from the route to inspect")
    missing = [r for r in responses if r.headers.get("x-content-type-options", "").lower() != "nosniff"]
    if missing:
        return Result(
            "nosniff", route, Verdict.FAIL, f"no X-Content-Type-Options: nosniff on {missing[0].url}"
        )
    return Result(
        "nosniff", route, Verdict.PASS, f"X-Content-Type-Options: nosniff on {len(responses)} responses"
    )
