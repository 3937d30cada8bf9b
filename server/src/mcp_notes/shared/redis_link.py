"""The replica's Redis client, and the one way to use it: bounded in time, never raising into a
request, and not touched at all while Redis is known to be down.

Redis only saves work here (shared rate limits, the search cache), so nothing it does is worth
an outage: the first failure takes it down at once (one warning line), callers fall back, and a
background probe brings it back (one info line)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from mcp_notes.shared.health import DependencyHealth, describe

log = logging.getLogger(__name__)

T = TypeVar("T")
PROBE_SECONDS = 1.0
POOL_BUSY = "No connection available."  # what BlockingConnectionPool raises when its wait times out


class RedisSettings(Protocol):
    """What Redis needs of a settings object: the server's Settings, or the gateway's."""

    @property
    def redis_url(self) -> Any: ...
    @property
    def redis_ca_cert(self) -> str | None: ...
    @property
    def redis_key_prefix(self) -> str: ...
    @property
    def redis_timeout(self) -> float: ...
    @property
    def redis_pool_size(self) -> int: ...
    @property
    def redis_pool_timeout(self) -> float: ...


class RedisUnavailable(Exception):
    """Redis is down, too slow, or every connection is busy: the caller falls back."""


def redis_options(settings: RedisSettings) -> dict[str, Any]:
    """Connection options: short timeouts and no retries (a retry is another wait on a Redis
    that just failed us), no CLIENT SETINFO round trips on connect."""
    options: dict[str, Any] = {
        "socket_timeout": settings.redis_timeout,
        "socket_connect_timeout": settings.redis_timeout,
        "retry": Retry(NoBackoff(), 0),
        "driver_info": None,
    }
    if settings.redis_ca_cert is not None and str(settings.redis_url).startswith("rediss:"):
        # Memorystore's certificate names an IP in its CN, not the host we dial, so hostname
        # checks always fail; the chain is still verified against every CA in the bundle
        # (two during a CA rotation).
        options["ssl_ca_data"] = settings.redis_ca_cert
        options["ssl_cert_reqs"] = "required"
        options["ssl_check_hostname"] = False
    return options


def open_redis(settings: RedisSettings) -> Redis:
    # Blocking: past the pool size an operation waits briefly for a connection instead of
    # raising MaxConnectionsError into the request.
    pool = BlockingConnectionPool.from_url(
        str(settings.redis_url),
        max_connections=settings.redis_pool_size,
        timeout=settings.redis_pool_timeout,
        **redis_options(settings),
    )
    return Redis.from_pool(pool)


class RedisLink:
    def __init__(self, redis: Redis, settings: RedisSettings, health: DependencyHealth) -> None:
        self.redis = redis
        self.health = health
        # Pool wait, then one round trip: the most any caller waits, whatever hangs.
        self._deadline = settings.redis_pool_timeout + settings.redis_timeout
        self._probe_key = f"{settings.redis_key_prefix}probe"
        self._probe: asyncio.Task[None] | None = None
        self._recovery_hooks: list[Callable[[], Awaitable[object]]] = []

    @property
    def up(self) -> bool:
        return self.health.up

    def on_recovery(self, hook: Callable[[], Awaitable[object]]) -> None:
        """Run by the probe before Redis counts as up again (under the same deadline)."""
        self._recovery_hooks.append(hook)

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        if not self.health.up:
            raise RedisUnavailable
        try:
            async with asyncio.timeout(self._deadline):
                return await operation()
        except RedisConnectionError as error:
            if str(error) != POOL_BUSY:  # a busy pool is our load, not a dead Redis
                self.failed(error)
            raise RedisUnavailable from None
        except (RedisError, OSError, TimeoutError) as error:
            self.failed(error)
            raise RedisUnavailable from None

    def failed(self, error: BaseException) -> None:
        if self.health.down(describe(error)):
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_up())

    async def check(self) -> None:
        """At start: find out now, so a Redis that is down when we start is one warning too."""
        with contextlib.suppress(RedisUnavailable):
            await self.run(self._write_probe)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self.redis.aclose()

    async def _write_probe(self) -> None:
        # A write, not PING: a Redis that answers but refuses writes (OOM, a read-only replica
        # after failover) is no use to us either.
        await self.redis.set(self._probe_key, "1", px=10_000)

    async def _probe_until_up(self) -> None:
        # Pooled connections may outlive the server they were made to (a restart): drop them
        # all, so what comes back up starts on fresh ones.
        with contextlib.suppress(RedisError, OSError):
            await self.redis.connection_pool.disconnect()
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            try:
                async with asyncio.timeout(self._deadline * (1 + len(self._recovery_hooks))):
                    await self._write_probe()
                    for hook in self._recovery_hooks:
                        await hook()
            except Exception:  # noqa: BLE001 - whatever it was, Redis is not back: keep probing
                continue
            self.health.back_up()
            return
