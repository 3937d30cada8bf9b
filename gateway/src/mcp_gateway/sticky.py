"""Sticky sessions: every request of an Mcp-Session-Id goes to the replica that created it,
whichever gateway replica receives it.

- Replicas are found by DNS (`"discovery": "dns"`: a k8s headless Service, Cloud Map records):
  the upstream host resolves to one address per replica, re-resolved every RESOLVE_SECONDS.
- When a response creates a session, session -> address goes to Redis (shared by every gateway
  replica) and to a local map (the fallback while Redis is down, and a cache: a session's
  address never changes).
- A session whose address no longer resolves, or refuses connections, is gone: the client
  gets 404, which the MCP spec defines as "start a new session".
- Where the gateway cannot reach replicas one by one (Cloud Run), the upstream's own balancer
  pins sessions with a cookie (`"discovery": "cookie"`): the map then holds session -> that
  cookie, which the gateway replays on the session's requests; clients never see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import socket
import time
from collections import OrderedDict

from mcp_notes.shared.redis_link import RedisLink, RedisUnavailable

RESOLVE_SECONDS = 1.0
LOCAL_SESSIONS = 100_000
TOUCH_SECONDS = 60.0  # how often an active session's Redis TTL is renewed


class Resolver:
    """One host's addresses, cached briefly. Resolution goes through socket.getaddrinfo in a
    thread (the system resolver, /etc/hosts and all), never more than once at a time."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._addresses: tuple[str, ...] = ()
        self._at = float("-inf")
        self._pending: asyncio.Task[tuple[str, ...]] | None = None
        self._turn = itertools.count()

    async def addresses(self) -> tuple[str, ...]:
        if time.monotonic() - self._at < RESOLVE_SECONDS:
            return self._addresses
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._resolve())
        with contextlib.suppress(OSError):  # keep the last answer: a DNS hiccup must not end sessions
            self._addresses = await asyncio.shield(self._pending)
        self._at = time.monotonic()
        return self._addresses

    async def pick(self) -> str | None:
        """A replica for a new session, in turn."""
        addresses = await self.addresses()
        return addresses[next(self._turn) % len(addresses)] if addresses else None

    async def _resolve(self) -> tuple[str, ...]:
        infos = await asyncio.to_thread(socket.getaddrinfo, self._host, self._port, 0, socket.SOCK_STREAM)
        return tuple(sorted({str(info[4][0]) for info in infos}))


class SessionMap:
    def __init__(self, ttl_seconds: int, prefix: str) -> None:
        self._ttl = ttl_seconds
        self._prefix = f"{prefix}session:"
        self._link: RedisLink | None = None
        # key -> (address, when its Redis TTL was last renewed)
        self._local: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def share(self, link: RedisLink) -> None:
        self._link = link

    async def remember(self, route: str, session: str, address: str) -> None:
        key = self._key(route, session)
        self._put(key, address)
        if self._link is not None:
            with contextlib.suppress(RedisUnavailable):
                redis = self._link.redis
                await self._link.run(lambda: redis.set(key, address, ex=self._ttl))

    async def lookup(self, route: str, session: str) -> str | None:
        key = self._key(route, session)
        local = self._local.get(key)
        link = self._link
        if local is not None:
            address, touched = local
            if link is not None and time.monotonic() - touched > TOUCH_SECONDS:
                self._put(key, address)
                with contextlib.suppress(RedisUnavailable):
                    await link.run(lambda: link.redis.expire(key, self._ttl))
            return address
        if link is None:
            return None
        try:
            value = await link.run(lambda: link.redis.getex(key, ex=self._ttl))
        except RedisUnavailable:
            return None
        if value is None:
            return None
        address = value.decode() if isinstance(value, bytes) else str(value)
        self._put(key, address)
        return address

    async def forget(self, route: str, session: str) -> None:
        key = self._key(route, session)
        self._local.pop(key, None)
        if self._link is not None:
            link = self._link
            with contextlib.suppress(RedisUnavailable):
                await link.run(lambda: link.redis.delete(key))

    def _put(self, key: str, address: str) -> None:
        self._local[key] = (address, time.monotonic())
        self._local.move_to_end(key)
        if len(self._local) > LOCAL_SESSIONS:
            self._local.popitem(last=False)

    def _key(self, route: str, session: str) -> str:
        # Session ids come from clients: hashed, so a key is bounded and never a Redis pattern.
        return self._prefix + route + ":" + hashlib.sha256(session.encode(errors="replace")).hexdigest()[:32]
