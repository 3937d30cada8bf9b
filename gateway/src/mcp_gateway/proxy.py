"""One request to an upstream server over aiohttp, streamed back as it arrives.

aiohttp (one ClientSession on a bounded keep-alive TCPConnector, `resp.content.iter_any()`) rather
than httpx because of CPU: under `wrk -c16` through the gateway on two cores, httpx/httpcore was
about half of the gateway's ~3 ms of CPU per forwarded request (its pool scans every connection
with a syscall on each checkout, anyio socket writes), against ~0.4 ms for the bare upstream.
aiohttp's connector learns of closed connections from the event loop and its HTTP parser is C.
(httpx stays for google_id.py, off the hot path.)

- Nothing is buffered on the way back: each chunk the upstream sends is written to the client
  as is (raw: auto_decompress=False), and `X-Accel-Buffering: no` tells any nginx in front not to
  buffer either. The request goes out with the client's headers (minus DROP_REQUEST) and no
  invented ones: no default Accept, Accept-Encoding, User-Agent or Content-Type, no cookies from
  a shared jar, no redirects followed, no proxy from the environment.
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

import aiohttp
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
# Strict-Transport-Security etc. are the edge's, and Date, Server, X-Request-Id and
# X-Accel-Buffering the gateway's own: an upstream's would be duplicates.
DROP_RESPONSE = HOP_BY_HOP | {
    b"date",
    b"server",
    b"x-request-id",
    b"x-accel-buffering",
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


# Headers aiohttp would otherwise add when the client sent none.
NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class Upstreams:
    """The pool of connections to every upstream: one aiohttp session, made on first use (aiohttp
    needs the running event loop, which the Gateway's constructor does not have)."""

    def __init__(self, connect_seconds: float, idle_seconds: float, pool_size: int) -> None:
        self._connect_seconds = connect_seconds
        self._idle_seconds = idle_seconds
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0, keepalive_timeout=60),
                # connect: waiting for a pooled connection plus opening one (httpx's pool + connect);
                # sock_read: silence allowed between reads, headers included.
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self._connect_seconds, sock_read=self._idle_seconds
                ),
                auto_decompress=False,
                # An HTTP_PROXY in the environment must not divert traffic to private servers.
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # one caller's Set-Cookie must not reach another's call
                skip_auto_headers=NO_AUTO_HEADERS,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def open_upstream(
    upstreams: Upstreams,
    method: str,
    target: Target,
    headers: list[tuple[bytes, bytes]],
    body: bytes | None,
    read_seconds: float,
) -> aiohttp.ClientResponse:
    """The upstream's response, headers read and body not yet; the caller must release it."""
    # aiohttp keeps the "Host" given here instead of adding its own from the URL.
    sent = [("Host", target.host), *((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)]
    try:
        async with asyncio.timeout(read_seconds):
            return await upstreams.session().request(
                method, target.url, headers=sent, data=body, allow_redirects=False
            )
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
        raise UpstreamFailed("connect", 502, f"The server is unreachable ({type(error).__name__})") from None
    except TimeoutError:  # ours (read_seconds) or aiohttp's sock_read
        raise UpstreamFailed("timeout", 504, "The server did not answer in time") from None
    except aiohttp.ClientError as error:
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


async def stream_back(
    response: aiohttp.ClientResponse, send: Send, extra_headers: list[tuple[bytes, bytes]]
) -> bool:
    """Relay status, headers and body as they come; False when the upstream broke mid-stream.
    The response is released (its connection back to the pool) once read to the end, closed
    (its connection dropped) otherwise: error, cancellation, client gone."""
    headers = [(k, v) for k, v in response.raw_headers if k.lower() not in DROP_RESPONSE]
    headers += [(b"x-accel-buffering", b"no"), *extra_headers]
    complete = False
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        complete = True
        await send({"type": "http.response.body", "body": b""})
        return True
    except aiohttp.ClientError:  # includes the idle timeout (SocketTimeoutError)
        # Mid-stream, a status can no longer change: end the body so the client sees it cut.
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b""})
        return False
    finally:
        if complete:
            response.release()
        else:
            response.close()
