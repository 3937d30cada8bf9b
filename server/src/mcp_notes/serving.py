"""How the server runs under uvicorn: one configuration, shared with `make bench` so both
servers it compares run alike, and the SIGTERM handling that drains before stopping. Light on
imports on purpose: the bench's bare server uses it without loading our app."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from types import FrameType
from typing import Protocol

import uvicorn

from mcp_notes import heap
from mcp_notes.http.drain import Drain
from mcp_notes.http.protocol import with_deadlines

log = logging.getLogger("mcp_notes")


class ServingSettings(Protocol):
    """What serving needs of a settings object: the server's Settings, or the gateway's."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def header_timeout_seconds(self) -> float: ...
    @property
    def body_timeout_seconds(self) -> float: ...
    @property
    def keepalive_seconds(self) -> int: ...
    @property
    def drain_seconds(self) -> int: ...
    @property
    def shutdown_delay_seconds(self) -> float: ...


def uvicorn_config(app: object, settings: ServingSettings) -> uvicorn.Config:
    """The one uvicorn setup, shared with `make bench` so both servers it compares run alike."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=with_deadlines(settings.header_timeout_seconds, settings.body_timeout_seconds),
        timeout_keep_alive=settings.keepalive_seconds,
        log_config=None,  # ours: JSON on stdout
        access_log=False,  # one request line from our Edge layer instead
        proxy_headers=True,
        forwarded_allow_ips="*",  # behind a load balancer that sets X-Forwarded-*
        # Drain cuts what is left just before this, with a JSON-RPC 503 (see http/drain.py).
        timeout_graceful_shutdown=settings.drain_seconds,
        lifespan="on",
    )


class DrainingServer(uvicorn.Server):
    """uvicorn, told of SIGTERM before it stops listening (see http/drain.py)."""

    def __init__(self, config: uvicorn.Config, drain: Drain, settings: ServingSettings) -> None:
        super().__init__(config)
        self._drain = drain
        self._delay = settings.shutdown_delay_seconds
        self._drain_seconds = settings.drain_seconds

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        heap.settle()  # the start-up heap is built: see heap.py

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain.draining:  # a second signal: stop now, as uvicorn does
            super().handle_exit(sig, frame)
            return
        self._drain.begin()
        log.info("draining", extra={"signal": sig, "delay_seconds": self._delay})
        loop = asyncio.get_event_loop()
        stop = functools.partial(super().handle_exit, sig, frame)
        loop.call_soon_threadsafe(loop.call_later, self._delay, stop)
        loop.call_soon_threadsafe(self._drain.schedule_cut, loop, self._delay + self._drain_seconds)
