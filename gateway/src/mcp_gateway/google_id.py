"""Cloud Run invoker auth for routes with `"auth": "google-id-token"`: an ID token for the
upstream's URL from the metadata server, sent as X-Serverless-Authorization (Cloud Run checks
and strips it, and leaves Authorization, which carries the gateway's own token, to the server).

Tokens last an hour; each is reused until five minutes before it expires, and one fetch per
audience runs at a time. GCE_METADATA_HOST (the variable Google's own libraries read) points at
another metadata server, e.g. a fake one in tests."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import jwt

REFRESH_MARGIN_SECONDS = 300
PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"


class IdTokenUnavailable(Exception):
    pass


class GoogleIdTokens:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        host = os.environ.get("GCE_METADATA_HOST", "metadata.google.internal")
        self._url = f"http://{host}{PATH}"
        self._client = client or httpx.AsyncClient(timeout=5.0)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._fetches: dict[str, asyncio.Task[tuple[str, float]]] = {}

    async def token(self, audience: str) -> str:
        cached = self._tokens.get(audience)
        if cached is not None and cached[1] - REFRESH_MARGIN_SECONDS > time.time():
            return cached[0]
        fetch = self._fetches.get(audience)
        if fetch is None or fetch.done():
            fetch = asyncio.get_running_loop().create_task(self._fetch(audience))
            self._fetches[audience] = fetch
        try:
            token, expires = await asyncio.shield(fetch)
        except IdTokenUnavailable:
            if cached is not None and cached[1] > time.time():
                return cached[0]  # still valid: better than failing the request
            raise
        self._tokens[audience] = (token, expires)
        return token

    async def _fetch(self, audience: str) -> tuple[str, float]:
        try:
            response = await self._client.get(
                self._url,
                params={"audience": audience, "format": "full"},
                headers={"Metadata-Flavor": "Google"},
            )
            response.raise_for_status()
            token = response.text.strip()
            claims = jwt.decode(token, options={"verify_signature": False})
            return token, float(claims.get("exp", time.time() + 600))
        except (httpx.HTTPError, jwt.PyJWTError, ValueError) as error:
            raise IdTokenUnavailable(str(error) or type(error).__name__) from None

    async def close(self) -> None:
        await self._client.aclose()
