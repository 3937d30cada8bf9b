"""A stand-in for Cloud Run's front end with session affinity on, for the gateway tests:

    python -m tests.gateway.affinity_front PORT UPSTREAM_PORT...

Like Cloud Run, it balances requests over instances (here: upstream ports on 127.0.0.1), sets
a session-affinity cookie naming the instance on any response to a request without a valid one,
and sends a request with that cookie to the same instance while it is up. The affinity is best
effort: an instance that is gone is replaced by another, and the cookie is set anew. Streams are
relayed as they come. Only what the gateway depends on is imitated; the cookie's name is
Cloud Run's (GAESA) but its value is ours.
"""

from __future__ import annotations

import itertools
import sys

import aiohttp
from aiohttp import web

COOKIE = "GAESA"
CLIENT = web.AppKey("client", aiohttp.ClientSession)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def build(upstreams: list[int]) -> web.Application:
    turn = itertools.count()
    app = web.Application()

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def relay(request: web.Request) -> web.StreamResponse:
        pinned = request.cookies.get(COOKIE, "")
        port = int(pinned) if pinned.isdigit() and int(pinned) in upstreams else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | {"cookie"}}
        body = await request.read()
        session: aiohttp.ClientSession = app[CLIENT]
        candidates = [port] if port is not None else []
        # Unpinned requests are balanced in turn; a pinned one falls back to the instances after its own.
        start = next(turn) if port is None else upstreams.index(port) + 1
        candidates += [upstreams[(start + i) % len(upstreams)] for i in range(len(upstreams))]
        for candidate in candidates:
            try:
                upstream = await session.request(
                    request.method,
                    f"http://127.0.0.1:{candidate}{request.path_qs}",
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                )
            except aiohttp.ClientConnectorError:
                continue  # that instance is gone: best effort, like Cloud Run
            reply = web.StreamResponse(status=upstream.status)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    reply.headers.add(key, value)
            if candidate != port:
                reply.headers.add("Set-Cookie", f"{COOKIE}={candidate}; Path=/; Max-Age=2592000; HttpOnly")
            await reply.prepare(request)
            async for chunk in upstream.content.iter_any():
                await reply.write(chunk)
            await reply.write_eof()
            upstream.release()
            return reply
        return web.Response(status=503, text="no instance")

    async def open_client(app: web.Application) -> None:
        app[CLIENT] = aiohttp.ClientSession(auto_decompress=False)

    async def close_client(app: web.Application) -> None:
        await app[CLIENT].close()

    app.on_startup.append(open_client)
    app.on_cleanup.append(close_client)
    app.router.add_get("/health", health)
    app.router.add_route("*", "/{tail:.*}", relay)
    return app


def main() -> None:
    port, upstreams = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
    web.run_app(build(upstreams), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
