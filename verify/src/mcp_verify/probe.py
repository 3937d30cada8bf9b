"""Every request the checks make goes through here: redirects are followed by hand, as a client
would (at most MAX_HOPS), and every hop is kept, so one check can say whether anything anywhere
redirected from https to http."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

MAX_HOPS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "mcp-verify/0.1"


@dataclass(frozen=True)
class Hop:
    status: int
    source: str
    location: str

    @property
    def downgrade(self) -> bool:
        return urlsplit(self.source).scheme == "https" and urlsplit(self.location).scheme == "http"


@dataclass
class Probe:
    client: httpx.AsyncClient
    requests: int = 0
    hops: list[Hop] = field(default_factory=list)

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        follow: bool = True,
    ) -> httpx.Response:
        """The final response, body read. 307/308 keep method and body; 301-303 turn a POST into
        a GET without body, as browsers and httpx do."""
        for _ in range(MAX_HOPS + 1):
            self.requests += 1
            response = await self.client.request(method, url, headers=headers, content=content)
            if not follow or response.status_code not in REDIRECTS or "location" not in response.headers:
                return response
            location = urljoin(url, response.headers["location"])
            self.hops.append(Hop(response.status_code, url, location))
            if response.status_code in (301, 302, 303) and method == "POST":
                method, content = "GET", None
            url = location
        raise httpx.TooManyRedirects(f"more than {MAX_HOPS} redirects from {url}")

    def note_redirect(self, response: httpx.Response, url: str) -> None:
        """A redirect the caller did not follow (streams, the http->https probe) still counts."""
        self.requests += 1
        if response.status_code in REDIRECTS and "location" in response.headers:
            self.hops.append(Hop(response.status_code, url, urljoin(url, response.headers["location"])))


def new_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        headers={"user-agent": USER_AGENT},
    )


def describe(error: Exception) -> str:
    """One line for the table: the exception's kind and its first line, never a traceback."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
