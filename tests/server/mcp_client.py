"""The official MCP client, pointed at a test server with a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

Mode = str  # "2026-07-28" (stateless protocol) or "legacy" (initialize handshake)
MODES = ("2026-07-28", "legacy")


@asynccontextmanager
async def connect(
    url: str | list[str], token: str | None, mode: Mode, **client_options: Any
) -> AsyncIterator[Client]:
    """`url` may list several replicas: requests then go to each in turn, like a load balancer."""
    urls = [url] if isinstance(url, str) else url
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(
        headers=headers, timeout=httpx2.Timeout(30), transport=_RoundRobin(urls) if len(urls) > 1 else None
    )
    async with (
        http,
        Client(streamable_http_client(urls[0], http_client=http), mode=mode, **client_options) as c,
    ):
        yield c


class _RoundRobin(httpx2.AsyncBaseTransport):
    """Like a load balancer: each request to the next replica, with the public Host header."""

    def __init__(self, urls: list[str], public_host: str = "mcp.test.example") -> None:
        self._public_host = public_host
        self._targets = [httpx2.URL(u) for u in urls]
        self._next = 0
        self._inner = httpx2.AsyncHTTPTransport()
        self.sent_to: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = self._targets[self._next % len(self._targets)]
        self.sent_to.append(target.port or 0)
        self._next += 1
        request.url = request.url.copy_with(host=target.host, port=target.port)
        request.headers["host"] = self._public_host
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


Callback = Callable[..., Any]
