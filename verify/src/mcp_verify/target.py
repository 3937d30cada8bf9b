"""What is being verified: the platform's public base URL and its route names.

The gateway does not list its routes (that would tell anyone what is deployed), so they are named
by the caller (`--routes`, ROUTES; the deploy workflow takes them from the stack's `servers`
output), or taken from a URL that already ends in /<name>/mcp."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

ROUTE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ROUTE_PATH = re.compile(r"/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)/mcp/?$")


class TargetError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    base: str  # scheme://host[:port][/prefix], no trailing slash
    routes: tuple[str, ...]

    @property
    def scheme(self) -> str:
        return urlsplit(self.base).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.base).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def explicit_port(self) -> bool:
        return urlsplit(self.base).port is not None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def route_url(self, name: str) -> str:
        return f"{self.base}/{name}/mcp"

    def metadata_url(self, name: str) -> str:
        """RFC 9728 section 3: the well-known segment goes between the host and the resource's path."""
        parts = urlsplit(self.route_url(name))
        return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"


def parse_target(url: str, routes: str | None) -> Target:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"not an http(s) URL: {url!r}")
    if parts.query or parts.fragment:
        raise TargetError("the URL must not carry a query or a fragment")
    path = parts.path.rstrip("/")
    names = [n.strip() for n in (routes or "").split(",") if n.strip()]
    match = ROUTE_PATH.search(path + "/")
    if match is not None:
        path = path[: match.start()]
        if match.group(1) not in names:
            names.append(match.group(1))
    bad = [n for n in names if not ROUTE_NAME.match(n)]
    if bad:
        raise TargetError(f"not route names (lower-case DNS labels): {', '.join(bad)}")
    if not names:
        raise TargetError(
            "which routes? pass --routes notes,time (or ROUTES=...), or a URL ending in /<name>/mcp; "
            "the gateway does not list them"
        )
    return Target(base=f"{parts.scheme}://{parts.netloc}{path}", routes=tuple(dict.fromkeys(names)))


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
