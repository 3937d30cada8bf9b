"""One request to an upstream server over httpx, streamed back as it arrives.

httpx (AsyncClient, `send(stream=True)`, `aiter_raw`) because the reference server and the MCP
SDK already depend on it (no new dependency in either image), it streams both directions, has
separate connect / read / pool timeouts and a bounded keep-alive pool, and is well kept.

- Nothing is buffered on the way back: each chunk the upstream sends is written to the client
  as is (raw: no decompression), and `X-Accel-Buffering: no` tells any nginx in front not to
  buffer either.
- The client leaving (http.disconnect) cancels the upstream request at once, so a server is
  never left computing, or holding an SSE stream open, for nobody.
- Until the response headers arrive the wait is UPSTREAM_READ_TIMEOUT_SECONDS (then 504); inside
  a stream, silence may last UPSTREAM_IDLE_TIMEOUT_SECONDS (then the stream is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.types import Receive, Send

# Hop-by-hop (RFC 9110 7.6.1) and what the gateway sets itself.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-authenticate",
    }
)
DROP_REQUEST = HOP_BY_HOP | {
    b"host",
    b"authorization",  # never passed through: the upstream gets the gateway's token
    b"x-serverless-authorization",
    b"cookie",
    b"origin",  # checked here (CORS); upstreams see the gateway, not the browser
    b"content-length",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"x-forwarded-proto",
}
# Strict-Transport-Security etc. are the edge's; an upstream's own would be duplicates.
DROP_RESPONSE = HOP_BY_HOP | {
    b"strict-transport-security",
    b"x-content-type-options",
    b"x-frame-options",
    b"content-security-policy",
    b"referrer-policy",
    b"access-control-allow-origin",
    b"access-control-expose-headers",
    b"access-control-allow-credentials",
    b"set-cookie",
}


class UpstreamFailed(Exception):
    def __init__(self, kind: str, status: int, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # connect | timeout | protocol
        self.status = status  # 502 or 504


@dataclass(frozen=True)
class Target:
    url: str  # scheme://address:port/path?query
    host: str  # the Host header: the upstream's own name


def client(connect_seconds: float, idle_seconds: float, pool_size: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=connect_seconds, read=idle_seconds, write=idle_seconds, pool=connect_seconds
        ),
        limits=httpx.Limits(
            max_connections=pool_size, max_keepalive_connections=pool_size, keepalive_expiry=60
        ),
        follow_redirects=False,
        trust_env=False,  # an HTTP_PROXY in the environment must not divert traffic to private servers
    )


async def open_upstream(
    http: httpx.AsyncClient,
    method: str,
    target: Target,
    headers: list[tuple[bytes, bytes]],
    body: bytes | None,
    read_seconds: float,
) -> httpx.Response:
    request = http.build_request(
        method, target.url, headers=[(b"host", target.host.encode()), *headers], content=body
    )
    try:
        async with asyncio.timeout(read_seconds):
            return await http.send(request, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        raise UpstreamFailed("connect", 502, f"The server is unreachable ({type(error).__name__})") from None
    except (TimeoutError, httpx.ReadTimeout, httpx.WriteTimeout):
        raise UpstreamFailed("timeout", 504, "The server did not answer in time") from None
    except httpx.HTTPError as error:
        raise UpstreamFailed(
            "protocol", 502, f"The server's answer was broken ({type(error).__name__})"
        ) from None


class ClientGone(Exception):
    pass


@contextlib.asynccontextmanager
async def cancel_on_disconnect(receive: Receive) -> AsyncIterator[None]:
    """Run the block until the client disconnects; then cancel it and raise ClientGone. Only
    after the request body was read: from then on `receive` has nothing else to say."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        task.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        yield
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()
        raise ClientGone from None
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def stream_back(response: httpx.Response, send: Send, extra_headers: list[tuple[bytes, bytes]]) -> bool:
    """Relay status, headers and body as they come; False when the upstream broke mid-stream."""
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in DROP_RESPONSE]
    headers += [(b"x-accel-buffering", b"no"), *extra_headers]
    try:
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return True
    except httpx.HTTPError:
        # Mid-stream, a status can no longer change: end the body so the client sees it cut.
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b""})
        return False
    finally:
        await response.aclose()
