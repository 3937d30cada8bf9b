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


def _page_key(owner: Owner, params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True)
    return f"{_owner_key(owner)}:{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


class SearchCache(Protocol):
    """`lookup` reads the owner's generation and the cached page at once, before the query; a
    page is stored with the generation it was read under and served only while that is still
    the owner's generation. A write that lands while the query runs bumps the generation, so the
    page it raced with is never served."""

    async def lookup(self, owner: Owner, params: dict[str, Any]) -> tuple[int, Any | None]: ...

    async def put(self, owner: Owner, generation: int, params: dict[str, Any], value: Any) -> None: ...

    async def invalidate(self, owner: Owner) -> None: ...


class RedisSearchCache:
    """One MGET per search (the shared epoch, the owner's generation, the page), so a cached
    search costs one round trip to Redis, not one for the generation and one for the page."""

    def __init__(self, link: RedisLink, ttl_seconds: int, prefix: str) -> None:
        self._link = link
        self._redis = link.redis
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._epoch_key = f"{prefix}epoch"
        self._lost_invalidation = False
        link.on_recovery(self._after_outage)

    async def lookup(self, owner: Owner, params: dict[str, Any]) -> tuple[int, Any | None]:
        if self._ttl == 0:
            return BYPASS, None
        generation_key = f"{self._prefix}gen:{_owner_key(owner)}"
        keys = (self._epoch_key, generation_key, self._prefix + _page_key(owner, params))
        try:
            epoch, counter, raw = await self._link.run(lambda: self._redis.mget(keys))
        except RedisUnavailable:
            return BYPASS, None
        generation = (int(epoch or 0) << 64) | int(counter or 0)  # both counters, unambiguously
        if raw is None:
            return generation, None
        stored = json.loads(raw)
        fresh = isinstance(stored, dict) and stored.get("generation") == generation
        return generation, stored.get("page") if fresh else None

    async def put(self, owner: Owner, generation: int, params: dict[str, Any], value: Any) -> None:
        if generation == BYPASS:
            return
        key = self._prefix + _page_key(owner, params)
        entry = json.dumps({"generation": generation, "page": value})
        with contextlib.suppress(RedisUnavailable):  # then not cached this time
            await self._link.run(lambda: self._redis.set(key, entry, ex=self._ttl))

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
        self._pages: OrderedDict[str, tuple[float, int, Any]] = OrderedDict()  # expiry, generation, page

    async def lookup(self, owner: Owner, params: dict[str, Any]) -> tuple[int, Any | None]:
        generation = self._generations.get(_owner_key(owner), 0)
        key = _page_key(owner, params)
        entry = self._pages.get(key)
        if entry is None or entry[0] < time.monotonic() or entry[1] != generation:
            return generation, None
        self._pages.move_to_end(key)
        return generation, entry[2]

    async def put(self, owner: Owner, generation: int, params: dict[str, Any], value: Any) -> None:
        if self._ttl == 0:
            return
        key = _page_key(owner, params)
        self._pages[key] = (time.monotonic() + self._ttl, generation, value)
        self._pages.move_to_end(key)
        while len(self._pages) > self._max:
            self._pages.popitem(last=False)

    async def invalidate(self, owner: Owner) -> None:
        owner_key = _owner_key(owner)
        self._generations[owner_key] = self._generations.get(owner_key, 0) + 1
