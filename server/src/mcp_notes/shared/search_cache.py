"""Cached search results per owner. Writes bump the owner's generation, so every replica's
cached pages for that owner stop matching at once; nothing needs to be found and deleted."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from typing import Any, Protocol

from redis.asyncio import Redis

from mcp_notes.notes.model import Owner


def _owner_key(owner: Owner) -> str:
    return hashlib.sha256(f"{owner.tenant}\x1f{owner.subject}".encode()).hexdigest()[:32]


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
    def __init__(self, redis: Redis, ttl_seconds: int, prefix: str) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix

    async def generation(self, owner: Owner) -> int:
        return int(await self._redis.get(f"{self._prefix}gen:{_owner_key(owner)}") or 0)

    async def get(self, owner: Owner, generation: int, params: dict[str, Any]) -> Any | None:
        if self._ttl == 0:
            return None
        raw = await self._redis.get(self._prefix + _page_key(owner, generation, params))
        return json.loads(raw) if raw is not None else None

    async def put(self, owner: Owner, generation: int, params: dict[str, Any], value: Any) -> None:
        if self._ttl == 0:
            return
        key = self._prefix + _page_key(owner, generation, params)
        await self._redis.set(key, json.dumps(value), ex=self._ttl)

    async def invalidate(self, owner: Owner) -> None:
        await self._redis.incr(f"{self._prefix}gen:{_owner_key(owner)}")


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
