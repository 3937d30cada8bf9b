"""Cached search results per owner. Writes bump the owner's generation, so every replica's
cached pages for that owner stop matching at once; nothing needs to be found and deleted.

With Redis the cache is a saving, never a dependency: while Redis is down or slow every search
goes to the database. A write whose invalidation could not reach Redis is made good when Redis
is back, before it is used again: an epoch shared by every page is bumped, so no page cached
before the write (on any replica) is served after it. Until then a replica that still reaches
Redis may serve such a page, for at most SEARCH_CACHE_SECONDS."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections import OrderedDict
from typing import Any, Protocol

from mcp_notes.notes.model import Owner
from mcp_notes.shared.redis_link import RedisLink, RedisUnavailable

BYPASS = -1  # the generation of a search that must neither read nor fill the cache


def _owner_key(owner: Owner) -> str:
    # JSON, not a separator: no tenant and subject, whatever they contain, meet another pair.
    return hashlib.sha256(json.dumps([owner.tenant, owner.subject]).encode()).hexdigest()[:32]


def _page_key(owner: Owner, generation: int, params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True)
    return f"{_owner_key(owner)}:{generation}:{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


class SearchCache(Protocol):
    """`generation` is read once per search, before the query, and the page is stored under it:
    a write that lands while the query runs bumps the generation, so the page it raced with is
    never served."""

    async def generation(self, owner: Owner) -> int: ...

    async def get(self, owner: Owner, generation: int, params: dict[str, Any]) -> Any | None: ...

    async def put(self, owner: Owner, generation: int, params: dict[str, Any], value: Any) -> None: ...

    async def invalidate(self, owner: Owner) -> None: ...


class RedisSearchCache:
    def __init__(self, link: RedisLink, ttl_seconds: int, prefix: str) -> None:
        self._link = link
        self._redis = link.redis
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._epoch_key = f"{prefix}epoch"
        self._lost_invalidation = False
        link.on_recovery(self._after_outage)

    async def generation(self, owner: Owner) -> int:
        if self._ttl == 0:
            return BYPASS
        keys = (self._epoch_key, f"{self._prefix}gen:{_owner_key(owner)}")
        try:
            epoch, generation = await self._link.run(lambda: self._redis.mget(keys))
        except RedisUnavailable:
            return BYPASS
        return (int(epoch or 0) << 64) | int(generation or 0)  # both counters, unambiguously

    async def get(self, owner: Owner, generation: int, params: dict[str, Any]) -> Any | None:
        if generation == BYPASS:
            return None
        key = self._prefix + _page_key(owner, generation, params)
        try:
            raw = await self._link.run(lambda: self._redis.get(key))
        except RedisUnavailable:
            return None
        return json.loads(raw) if raw is not None else None

    async def put(self, owner: Owner, generation: int, params: dict[str, Any], value: Any) -> None:
        if generation == BYPASS:
            return
        key = self._prefix + _page_key(owner, generation, params)
        with contextlib.suppress(RedisUnavailable):  # then not cached this time
            await self._link.run(lambda: self._redis.set(key, json.dumps(value), ex=self._ttl))

    async def invalidate(self, owner: Owner) -> None:
        key = f"{self._prefix}gen:{_owner_key(owner)}"
        try:
            await self._link.run(lambda: self._redis.incr(key))
        except RedisUnavailable:
            self._lost_invalidation = True

    async def _after_outage(self) -> None:
        # Until this returns Redis still counts as down, so writes meanwhile set the flag
        # again: go round until none did.
        while self._lost_invalidation:
            self._lost_invalidation = False
            try:
                await self._redis.incr(self._epoch_key)
            except BaseException:
                self._lost_invalidation = True
                raise


class MemorySearchCache:
    def __init__(self, ttl_seconds: int, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._generations: dict[str, int] = {}
        self._pages: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    async def generation(self, owner: Owner) -> int:
        return self._generations.get(_owner_key(owner), 0)

    async def get(self, owner: Owner, generation: int, params: dict[str, Any]) -> Any | None:
        key = _page_key(owner, generation, params)
        entry = self._pages.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        self._pages.move_to_end(key)
        return entry[1]

    async def put(self, owner: Owner, generation: int, params: dict[str, Any], value: Any) -> None:
        if self._ttl == 0:
            return
        key = _page_key(owner, generation, params)
        self._pages[key] = (time.monotonic() + self._ttl, value)
        self._pages.move_to_end(key)
        while len(self._pages) > self._max:
            self._pages.popitem(last=False)

    async def invalidate(self, owner: Owner) -> None:
        owner_key = _owner_key(owner)
        self._generations[owner_key] = self._generations.get(owner_key, 0) + 1
