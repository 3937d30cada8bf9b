"""The issuer's signing keys, fetched in the background and shared by every request.

- Single flight: at most one fetch runs at a time; every request that needs keys awaits that one
  (a cold-start burst must not fail while the first fetch is on its way).
- Stale while revalidate: keys older than `ttl_seconds` are still used while one background fetch
  replaces them. A request waits on the issuer only when no cached key can serve it (no keys yet,
  or a key id we have never seen: the issuer may have rotated keys), and not even then while the
  issuer is known to be failing.
- A failed fetch keeps the old keys, warns once per outage, and is retried no more often than
  `min_refresh_seconds` (a flood of tokens with made-up key ids must not turn into a flood of
  requests to the issuer), or `COLD_RETRY_SECONDS` while there are no keys at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

# Without keys nothing verifies, so retry sooner than `min_refresh_seconds`: a server started
# before its issuer must not refuse everything for long once the issuer is up.
COLD_RETRY_SECONDS = 1.0


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
        self._timeout = timeout_seconds
        self._ttl = ttl_seconds
        self._min_refresh = min(min_refresh_seconds, ttl_seconds)  # the TTL must be able to refresh
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._document: Any = None
        self._fetched_at = float("-inf")  # last success: the keys' age
        self._attempted_at = float("-inf")  # last attempt, failed or not: the retry budget
        self._fetch: asyncio.Task[None] | None = None
        self._error = ""  # why the last fetch failed; "" once one succeeds
        self.generation = 0  # changes whenever the key set does: verdicts by older keys are stale

    def warm(self) -> None:
        """Start the first fetch in the background (at app start: it must not delay startup)."""
        self._start()

    def revalidate(self) -> None:
        """Refresh stale keys in the background; never waits."""
        if time.monotonic() - self._fetched_at > self._ttl:
            self._start()

    async def key(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        """The key for `kid` (or the only key for `algorithm` when the token names none)."""
        self.revalidate()
        found = self._find(kid, algorithm)
        if found is None:  # no keys yet, or the issuer may have rotated keys
            fetch = self._start(min(COLD_RETRY_SECONDS, self._min_refresh) if not self._keys else None)
            # While the issuer is known to be failing, retry in the background only: else every
            # such request (made-up key ids too) would sit out the issuer's timeout.
            if fetch is not None and not self._error:
                await asyncio.shield(fetch)  # shielded: one caller giving up must not cancel it
            found = self._find(kid, algorithm)
        if found is None and not self._keys:
            raise JwksUnavailable(self._error or "the issuer published no usable keys")
        return found

    def _find(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        if kid is not None:
            return self._keys.get(kid)
        fitting = [k for k in self._keys.values() if k.algorithm_name in (algorithm, None)]
        return fitting[0] if len(fitting) == 1 else None

    def _start(self, min_interval: float | None = None) -> asyncio.Task[None] | None:
        """The fetch in flight, or a new one if the retry budget allows; else None."""
        if self._fetch is not None and not self._fetch.done():
            return self._fetch
        now = time.monotonic()
        if now - self._attempted_at < (self._min_refresh if min_interval is None else min_interval):
            return None
        self._attempted_at = now
        self._fetch = asyncio.get_running_loop().create_task(self._refresh())
        return self._fetch

    async def _refresh(self) -> None:
        """Never raises: the outcome is in `_keys` and `_error`."""
        try:
            async with asyncio.timeout(2 * self._timeout):  # discovery + keys, however they trickle
                url = self._jwks_url or await self._discover()
                response = await self._client.get(url)
                response.raise_for_status()
                document = response.json()
            keys = _parse(document)
        except Exception as error:  # noqa: BLE001 - whatever the issuer sends, the old keys stay
            if not self._error:  # once per outage, not once per attempt
                log.warning("jwks refresh failed", extra={"error": str(error) or type(error).__name__})
            self._error = str(error) or type(error).__name__
            return
        if self._error:
            log.info("jwks refresh recovered")
        self._error = ""
        self._fetched_at = time.monotonic()
        if document != self._document:
            self._keys, self._document = keys, document
            self.generation += 1
            log.info("jwks refreshed", extra={"keys": len(keys)})

    async def _discover(self) -> str:
        """RFC 8414 metadata first, then OpenID Connect discovery."""
        for path in (
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ):
            response = await self._client.get(self._issuer + path)
            if response.status_code == 200:
                metadata = response.json()
                jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
                if not isinstance(jwks_uri, str):
                    raise JwksUnavailable(f"{self._issuer}{path} names no jwks_uri")
                self._jwks_url = jwks_uri
                return jwks_uri
        raise JwksUnavailable(f"no authorization server metadata at {self._issuer}")

    async def close(self) -> None:
        if self._fetch is not None:
            self._fetch.cancel()
            await asyncio.gather(self._fetch, return_exceptions=True)
        await self._client.aclose()


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the JWKS document has no list of keys")
    keys: dict[str, jwt.PyJWK] = {}
    for index, data in enumerate(entries):
        if not isinstance(data, dict) or data.get("use", "sig") != "sig" or data.get("kty") == "oct":
            continue  # encryption keys and shared secrets never verify our tokens
        try:
            keys[str(data.get("kid", f"#{index}"))] = jwt.PyJWK(data)
        except (jwt.PyJWTError, TypeError, ValueError):
            continue  # an unsupported key type must not hide the usable ones
    return keys
