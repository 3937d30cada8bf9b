"""TLS and plain-http behaviour of the public URL: a certificate clients accept for the host,
http:// answered with a redirect to the same https path, HSTS, and never a redirect from https
down to http. None of it applies to an http URL on loopback (`make dev`)."""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import time

import certifi
import httpx

from mcp_verify.probe import REDIRECTS, Probe, describe
from mcp_verify.report import Result, Verdict
from mcp_verify.target import Target

CERT_WARN_DAYS = 14


def trust() -> ssl.SSLContext:
    """The trust a Python MCP client has (httpx: certifi's bundle), or SSL_CERT_FILE when set, as
    behind a corporate proxy or for a private CA."""
    return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or certifi.where())


def not_https(target: Target, check: str) -> Result | None:
    if target.scheme == "https":
        return None
    if target.loopback:
        return Result(check, "-", Verdict.NA, "http on loopback: no TLS to check")
    return Result(check, "-", Verdict.FAIL, "the URL is http: OAuth clients require https off localhost")


async def certificate(target: Target, seconds: float) -> Result:
    skipped = not_https(target, "tls")
    if skipped is not None:
        return skipped
    try:
        async with asyncio.timeout(seconds):
            _, writer = await asyncio.open_connection(
                target.host, target.port, ssl=trust(), server_hostname=target.host
            )
    except ssl.SSLCertVerificationError as error:
        return Result("tls", "-", Verdict.FAIL, f"certificate refused: {error.verify_message}")
    except (OSError, TimeoutError, ssl.SSLError) as error:
        return Result("tls", "-", Verdict.FAIL, f"no TLS connection: {describe(error)}")
    try:
        cert = writer.get_extra_info("peercert") or {}
        version = writer.get_extra_info("ssl_object").version()
    finally:
        writer.close()
    expires = cert.get("notAfter")
    days = int((ssl.cert_time_to_seconds(expires) - time.time()) // 86400) if expires else None
    detail = f"valid for {target.host}, {version}" + (f", expires in {days} days" if days is not None else "")
    if days is not None and days < CERT_WARN_DAYS:
        return Result("tls", "-", Verdict.WARN, detail + " (renewal overdue?)")
    return Result("tls", "-", Verdict.PASS, detail)


async def http_redirect(target: Target, probe: Probe, route: str) -> Result:
    """http://host/<path> must answer with a redirect to https://host/<path>: a client or user
    who types http:// then lands on the right route instead of a dead end or plain text."""
    skipped = not_https(target, "http-redirect")
    if skipped is not None:
        return Result(skipped.check, route, skipped.verdict, skipped.detail)
    if target.explicit_port and target.port != 443:
        return Result("http-redirect", route, Verdict.NA, f"custom https port {target.port}: no http twin")
    secure = target.route_url(route)
    plain = "http://" + secure.removeprefix("https://")
    try:
        response = await probe.client.get(plain)
    except httpx.HTTPError as error:
        return Result("http-redirect", route, Verdict.WARN, f"{plain}: {describe(error)} (no redirect)")
    probe.note_redirect(response, plain)
    location = response.headers.get("location", "")
    if response.status_code not in REDIRECTS:
        return Result(
            "http-redirect", route, Verdict.FAIL, f"{plain} answered {response.status_code}, not a redirect"
        )
    if location != secure:
        return Result("http-redirect", route, Verdict.FAIL, f"{plain} -> {location or '(no Location)'}")
    return Result("http-redirect", route, Verdict.PASS, f"{response.status_code} -> {location}")


def no_downgrade(probe: Probe) -> Result:
    down = [hop for hop in probe.hops if hop.downgrade]
    if down:
        hop = down[0]
        return Result(
            "no-downgrade", "-", Verdict.FAIL, f"{hop.source} -> {hop.location} ({len(down)} such redirects)"
        )
    return Result(
        "no-downgrade",
        "-",
        Verdict.PASS,
        f"no https->http redirect in {probe.requests} requests ({len(probe.hops)} redirects)",
    )


def hsts(target: Target, route: str, responses: list[httpx.Response]) -> Result:
    skipped = not_https(target, "hsts")
    if skipped is not None:
        return Result(skipped.check, route, skipped.verdict, skipped.detail)
    if not responses:
        return Result("hsts", route, Verdict.NA, "no response from the route to inspect")
    missing = [str(r.url) for r in responses if not _max_age(r.headers.get("strict-transport-security", ""))]
    if missing:
        return Result("hsts", route, Verdict.FAIL, f"no Strict-Transport-Security max-age on {missing[0]}")
    return Result("hsts", route, Verdict.PASS, responses[0].headers["strict-transport-security"])


def _max_age(value: str) -> int:
    match = re.search(r"max-age=\"?(\d+)", value, re.IGNORECASE)
    return int(match.group(1)) if match else 0
