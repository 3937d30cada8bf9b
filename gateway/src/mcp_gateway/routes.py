"""GATEWAY_ROUTES: which public path goes to which private server, and what it takes to get there.

A route NAME is public at `<GATEWAY_PUBLIC_URL>/NAME/mcp` (and anything below it), forwarded to
`upstream + path` (+ the rest). Its RFC 9728 metadata is at
`/.well-known/oauth-protected-resource/NAME/mcp`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
KEYS = {"upstream", "path", "scopes", "sticky", "discovery", "audience", "auth", "tool_scopes"}


class RouteError(ValueError):
    pass


@dataclass(frozen=True)
class Route:
    name: str
    upstream: str  # scheme://host:port, no path
    path: str = "/mcp"  # the server's own MCP path
    scopes: tuple[str, ...] = ()  # scopes_supported; a token needs at least one of them
    sticky: bool = False
    # How a sticky session finds its replica again: "dns" (the gateway picks a resolved address and
    # pins it), "cookie" (the upstream's load balancer pins by a cookie it sets, e.g. Cloud Run's
    # session affinity; the gateway keeps and replays that cookie per session) or "none".
    discovery: Literal["dns", "cookie", "none"] = "none"
    audience: str | None = None  # default: the route's public URL
    auth: Literal["none", "google-id-token"] = "none"  # how the gateway proves itself to the upstream
    # Per-tool scopes the gateway checks itself (all needed); tools not listed need only the route's.
    tool_scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return f"/{self.name}/mcp"

    @property
    def metadata_path(self) -> str:
        return f"/.well-known/oauth-protected-resource/{self.name}/mcp"

    def public_url(self, public: str) -> str:
        return f"{public}{self.prefix}"

    @property
    def upstream_host(self) -> str:
        return urlsplit(self.upstream).hostname or ""

    @property
    def upstream_port(self) -> int:
        parts = urlsplit(self.upstream)
        return parts.port or (443 if parts.scheme == "https" else 80)


def parse_routes(raw: str | dict[str, Any]) -> dict[str, Route]:
    """Every problem at once, each naming the route and the key."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as error:
        raise RouteError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise RouteError("must be a JSON object: name -> route")
    routes: dict[str, Route] = {}
    problems: list[str] = []
    for name, spec in data.items():
        try:
            routes[name] = _route(name, spec)
        except RouteError as error:
            problems.append(f"{name}: {error}")
    if problems:
        raise RouteError("; ".join(problems))
    return routes


def _route(name: str, spec: Any) -> Route:
    if not isinstance(name, str) or not NAME.match(name):
        raise RouteError("the name must be lower-case letters, digits and '-' (a DNS label)")
    if not isinstance(spec, dict):
        raise RouteError("must be an object")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise RouteError(f"unknown keys {unknown}; allowed: {sorted(KEYS)}")
    upstream = spec.get("upstream")
    parts = urlsplit(upstream) if isinstance(upstream, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
    ):
        raise RouteError("upstream must be http(s)://host[:port] without a path")
    path = spec.get("path", "/mcp")
    if not isinstance(path, str) or not path.startswith("/"):
        raise RouteError("path must start with '/'")
    scopes = spec.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise RouteError("scopes must be a list of scope strings")
    discovery = spec.get("discovery", "none")
    if discovery not in ("dns", "cookie", "none"):
        raise RouteError("discovery must be 'dns', 'cookie' or 'none'")
    auth = spec.get("auth", "none")
    if auth not in ("none", "google-id-token"):
        raise RouteError("auth must be 'none' or 'google-id-token'")
    sticky = spec.get("sticky", False)
    if not isinstance(sticky, bool):
        raise RouteError("sticky must be true or false")
    if discovery != "none" and not sticky:
        raise RouteError(f"discovery {discovery!r} pins sessions: it needs sticky: true")
    audience = spec.get("audience")
    if audience is not None and not isinstance(audience, str):
        raise RouteError("audience must be a string")
    tool_scopes = spec.get("tool_scopes", {})
    if not isinstance(tool_scopes, dict) or not all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in tool_scopes.values()
    ):
        raise RouteError("tool_scopes must map tool names to lists of scopes")
    return Route(
        name=name,
        upstream=f"{parts.scheme}://{parts.netloc}",
        path=path.rstrip("/") or "/",
        scopes=tuple(scopes),
        sticky=sticky,
        discovery=discovery,
        audience=audience,
        auth=auth,
        tool_scopes={tool: tuple(v) for tool, v in tool_scopes.items()},
    )
