"""Streams reach the client as they are written, not when they end.

A proxy that buffers whole responses (some serverless fronts, API gateways) holds back the
headers of a stream that never ends, so a standalone GET SSE stream (MCP streamable HTTP) must
show its headers within STREAM_SECONDS while still open. A buffered-to-the-end response also
tends to gain a Content-Length, which an SSE response must not have; `X-Accel-Buffering: no`
keeps an nginx in front from buffering events. A POST answered with SSE must deliver its first
event; the time to it and to the end of the stream are reported."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx

from mcp_verify.auth import INITIALIZE, RPC_HEADERS
from mcp_verify.probe import Probe, describe
from mcp_verify.report import Result, Verdict
from mcp_verify.target import Target

LEGACY_VERSION = "2025-06-18"
OPEN_SECONDS = 1.0  # how long a GET stream is watched after its headers


@dataclass
class Seen:
    status: int
    sse: bool
    headers_ms: float
    first_event_ms: float | None = None  # POST only
    end_ms: float | None = None  # None: still open when we stopped watching
    content_length: bool = False
    accel_off: bool = False
    session: str | None = None
    version: str | None = None


class NoHeaders(Exception):
    pass


async def stream(
    target: Target, probe: Probe, route: str, token: str | None, auth_on: bool, seconds: float
) -> Result:
    if auth_on and not token:
        return Result(
            "stream", route, Verdict.WARN, "not checked: auth is on and no token (--token or TOKEN)"
        )
    auth = {"authorization": f"Bearer {token}"} if token else {}
    url = target.route_url(route)
    try:
        posted = await _post(probe, url, auth, seconds)
    except NoHeaders:
        return Result(
            "stream", route, Verdict.FAIL, f"POST initialize: no response headers within {seconds:g} s"
        )
    except httpx.HTTPError as error:
        return Result("stream", route, Verdict.FAIL, f"POST initialize: {describe(error)}")
    if posted.status in (401, 403):
        return Result(
            "stream", route, Verdict.FAIL, f"the token was refused: POST initialize {posted.status}"
        )
    if posted.status >= 300:
        return Result("stream", route, Verdict.FAIL, f"POST initialize answered {posted.status}")
    headers = {
        **auth,
        "accept": "text/event-stream",
        "mcp-protocol-version": posted.version or LEGACY_VERSION,
    }
    if posted.session:
        headers["mcp-session-id"] = posted.session
    got: Seen | None = None
    try:
        got = await _get(probe, url, headers, seconds)
        get_note = _describe_get(got)
    except NoHeaders:
        return Result(
            "stream",
            route,
            Verdict.FAIL,
            f"GET SSE stream: no response headers within {seconds:g} s (a proxy buffers whole responses?)",
        )
    except httpx.HTTPError as error:
        get_note = f"GET: {describe(error)}"
    finally:
        if posted.session:
            await _end_session(probe, url, headers)
    return _judge(route, posted, got, get_note)


def _judge(route: str, posted: Seen, got: Seen | None, get_note: str) -> Result:
    post_note = _describe_post(posted)
    detail = f"{get_note}; {post_note}"
    streams = [s for s in (posted, got) if s is not None and s.sse]
    if any(s.content_length for s in streams):
        return Result(
            "stream",
            route,
            Verdict.FAIL,
            "Content-Length on an SSE response (buffered to its end): " + detail,
        )
    if posted.sse and posted.first_event_ms is None:
        return Result("stream", route, Verdict.FAIL, "SSE answer without any event: " + detail)
    if not streams:
        return Result("stream", route, Verdict.NA, "no SSE from this route: " + detail)
    if got is not None and got.sse and got.end_ms is not None:
        return Result("stream", route, Verdict.WARN, "the GET stream closed at once: " + detail)
    if not all(s.accel_off for s in streams):
        return Result("stream", route, Verdict.WARN, "SSE without X-Accel-Buffering: no: " + detail)
    return Result("stream", route, Verdict.PASS, detail)


async def _post(probe: Probe, url: str, auth: dict[str, str], seconds: float) -> Seen:
    body = json.dumps(INITIALIZE).encode()
    request = probe.client.build_request("POST", url, headers={**RPC_HEADERS, **auth}, content=body)
    async with _opened(probe, request, seconds) as (response, started, headers_ms):
        seen = _seen(response, headers_ms)
        if not seen.sse:
            await response.aread()
            seen.version = _negotiated(response.content)
            return seen
        buffer = b""
        async for chunk in response.aiter_bytes():
            buffer += chunk
            if seen.first_event_ms is None and b"\n\n" in buffer.replace(b"\r\n", b"\n"):
                seen.first_event_ms = _ms(started)
        seen.end_ms = _ms(started)
        seen.version = _negotiated(_sse_data(buffer))
        return seen


async def _get(probe: Probe, url: str, headers: dict[str, str], seconds: float) -> Seen:
    request = probe.client.build_request("GET", url, headers=headers)
    async with _opened(probe, request, seconds) as (response, started, headers_ms):
        seen = _seen(response, headers_ms)
        if seen.sse:
            chunks = response.aiter_raw()
            try:
                async with asyncio.timeout(OPEN_SECONDS):
                    async for _ in chunks:
                        pass
                seen.end_ms = _ms(started)
            except TimeoutError:
                pass  # still open: as a standalone stream should be
        return seen


class _opened:
    """The response with its headers read (or NoHeaders after `seconds`), closed on exit."""

    def __init__(self, probe: Probe, request: httpx.Request, seconds: float) -> None:
        self.probe, self.request, self.seconds = probe, request, seconds
        self.response: httpx.Response | None = None

    async def __aenter__(self) -> tuple[httpx.Response, float, float]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.seconds):
                self.response = await self.probe.client.send(self.request, stream=True)
        except TimeoutError:
            raise NoHeaders from None
        self.probe.note_redirect(self.response, str(self.request.url))
        return self.response, started, _ms(started)

    async def __aexit__(self, *_: object) -> None:
        if self.response is not None:
            await self.response.aclose()


def _seen(response: httpx.Response, headers_ms: float) -> Seen:
    kind = response.headers.get("content-type", "")
    return Seen(
        status=response.status_code,
        sse=response.status_code == 200 and kind.startswith("text/event-stream"),
        headers_ms=headers_ms,
        content_length="content-length" in response.headers,
        accel_off=any(v.strip().lower() == "no" for v in response.headers.get_list("x-accel-buffering")),
        session=response.headers.get("mcp-session-id"),
    )


async def _end_session(probe: Probe, url: str, headers: dict[str, str]) -> None:
    """A stateful server keeps the session (and maybe a process) until told: tell it."""
    try:
        response = await probe.client.delete(url, headers=headers)
        probe.note_redirect(response, url)
    except httpx.HTTPError:
        pass  # the verdict does not depend on it


def _sse_data(raw: bytes) -> bytes:
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    return b"\n".join(line[5:].strip() for line in lines if line.startswith(b"data:"))


def _negotiated(body: bytes) -> str | None:
    try:
        version = json.loads(body.split(b"\n")[0] or b"{}").get("result", {}).get("protocolVersion")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def _describe_post(seen: Seen) -> str:
    if not seen.sse:
        return f"POST initialize: {seen.status} non-SSE in {seen.headers_ms:.0f} ms"
    first = f"{seen.first_event_ms:.0f} ms" if seen.first_event_ms is not None else "never"
    end = f"{seen.end_ms:.0f} ms" if seen.end_ms is not None else "never"
    return f"POST initialize: SSE, headers {seen.headers_ms:.0f} ms, first event {first}, end {end}"


def _describe_get(seen: Seen) -> str:
    if not seen.sse:
        return f"GET stream: {seen.status}, none offered"
    state = (
        f"closed after {seen.end_ms:.0f} ms" if seen.end_ms is not None else f"open after {OPEN_SECONDS:g} s"
    )
    return f"GET stream: headers {seen.headers_ms:.0f} ms, {state}"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
