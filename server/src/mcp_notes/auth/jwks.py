"""The issuer's signing keys: fetched with a timeout, cached, refetched when a token names an
unknown key id, and never refetched more often than `min_refresh_seconds` (a flood of tokens
with made-up key ids must not turn into a flood of requests to the issuer)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)


class JwksUnavailable(Exception):
    pass


class JwksCache:
    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        timeout_seconds: float = 5.0,
        ttl_seconds: float = 600.0,
        min_refresh_seconds: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._issuer = issuer.rstrip("/")
        self._jwks_url = jwks_url
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        """The key for `kid` (or the only key for `algorithm` when the token names none)."""
        if time.monotonic() - self._fetched_at > self._ttl:
            await self._refresh()
        found = self._find(kid, algorithm)
        if found is None and time.monotonic() - self._fetched_at >= self._min_refresh:
            await self._refresh()  # the issuer may have rotated keys
            found = self._find(kid, algorithm)
        return found

    def _find(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        if kid is not None:
            return self._keys.get(kid)
        fitting = [k for k in self._keys.values() if k.algorithm_name in (algorithm, None)]
        return fitting[0] if len(fitting) == 1 else None

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self._min_refresh:
                return  # another request refreshed while we waited
            self._fetched_at = time.monotonic()  # a failed fetch also counts: no hammering
            try:
                url = self._jwks_url or await self._discover()
                response = await self._client.get(url)
                response.raise_for_status()
                self._keys = _parse(response.json())
                log.info("jwks refreshed", extra={"keys": len(self._keys)})
            except (httpx.HTTPError, ValueError, KeyError) as error:
                log.warning("jwks refresh failed", extra={"error": str(error)})
                if not self._keys:
                    raise JwksUnavailable(str(error)) from error

    async def _discover(self) -> str:
        """RFC 8414 metadata first, then OpenID Connect discovery."""
        for path in (
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ):
            response = await self._client.get(self._issuer + path)
            if response.status_code == 200:
                self._jwks_url = str(response.json()["jwks_uri"])
                return self._jwks_url
        raise JwksUnavailable(f"no authorization server metadata at {self._issuer}")

    async def close(self) -> None:
        await self._client.aclose()


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for index, data in enumerate(document["keys"]):
        if data.get("use", "sig") != "sig" or data.get("kty") == "oct":
            continue  # encryption keys and shared secrets never verify our tokens
        try:
            keys[str(data.get("kid", f"#{index}"))] = jwt.PyJWK(data)
        except jwt.PyJWKError:
            continue  # an unsupported key type must not hide the usable ones
    return keys
