"""What an MCP client needs to sign in (MCP authorization, RFC 9728, RFC 8414): an
unauthenticated request answered 401 with a Bearer challenge naming the route's metadata; that
metadata naming the route's public URL as `resource` exactly, its scopes, and authorization
servers whose own metadata can be fetched."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from mcp_verify.probe import Probe, describe
from mcp_verify.report import Result, Verdict
from mcp_verify.target import Target, is_loopback

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "mcp-verify", "version": "0.1"},
    },
}
RPC_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
AUTH_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
# What an interactive client needs from an authorization server (PKCE S256 is mandatory in MCP).
SIGN_IN_FIELDS = ("authorization_endpoint", "token_endpoint")


@dataclass
class RouteAuth:
    """What the route's checks learned, for the checks that come after."""

    auth_on: bool = False
    responses: list[httpx.Response] = field(default_factory=list)


async def challenge(target: Target, probe: Probe, route: str, found: RouteAuth) -> Result:
    url = target.route_url(route)
    try:
        response = await probe.send("POST", url, headers=RPC_HEADERS, content=json.dumps(INITIALIZE).encode())
    except httpx.HTTPError as error:
        return Result("challenge", route, Verdict.FAIL, f"POST {url}: {describe(error)}")
    found.responses.append(response)
    status = response.status_code
    if 200 <= status < 300:
        return Result("challenge", route, Verdict.WARN, f"auth off: POST without a token answered {status}")
    if status != 401:
        return Result("challenge", route, Verdict.FAIL, f"POST without a token answered {status}, not 401")
    found.auth_on = True
    params = bearer_params(response.headers.get_list("www-authenticate"))
    if params is None:
        return Result("challenge", route, Verdict.FAIL, "401 without a Bearer WWW-Authenticate challenge")
    named = params.get("resource_metadata")
    expected = target.metadata_url(route)
    if named is None:
        return Result("challenge", route, Verdict.FAIL, "401 Bearer challenge without resource_metadata")
    if named != expected:
        return Result("challenge", route, Verdict.FAIL, f"resource_metadata is {named}; expected {expected}")
    scope = f', scope="{params["scope"]}"' if "scope" in params else ""
    return Result("challenge", route, Verdict.PASS, f"401 Bearer, resource_metadata={named}{scope}")


def bearer_params(values: list[str]) -> dict[str, str] | None:
    """The auth-params of the Bearer challenge, from however many WWW-Authenticate headers."""
    for value in values:
        start = re.search(r"(?:^|,)\s*Bearer(?:\s+|$)", value, re.IGNORECASE)
        if start is None:
            continue
        rest = value[start.end() :]
        return {
            m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in AUTH_PARAM.finditer(rest)
        }
    return None


async def metadata(target: Target, probe: Probe, route: str, found: RouteAuth) -> list[Result]:
    url = target.metadata_url(route)
    try:
        response = await probe.send("GET", url, headers={"accept": "application/json"})
    except httpx.HTTPError as error:
        return _no_metadata(route, Verdict.FAIL, f"GET {url}: {describe(error)}")
    found.responses.append(response)
    if response.status_code != 200:
        if not found.auth_on and response.status_code == 404:
            return _no_metadata(route, Verdict.WARN, "auth off: no protected-resource metadata (404)")
        return _no_metadata(route, Verdict.FAIL, f"GET {url} answered {response.status_code}")
    document = _json_object(response)
    if document is None:
        return _no_metadata(route, Verdict.FAIL, f"{url} is not a JSON object")
    public = target.route_url(route)
    resource = document.get("resource")
    if resource == public:
        named = Result("metadata-resource", route, Verdict.PASS, f"resource = {public}")
    else:
        named = Result(
            "metadata-resource", route, Verdict.FAIL, f"resource is {resource!r}; clients reach {public}"
        )
    scopes = document.get("scopes_supported")
    if isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
        listed = Result("metadata-scopes", route, Verdict.PASS, f"scopes_supported {scopes}")
    elif scopes is None:
        listed = Result("metadata-scopes", route, Verdict.FAIL, "no scopes_supported")
    else:
        listed = Result("metadata-scopes", route, Verdict.FAIL, f"scopes_supported is not a list: {scopes!r}")
    return [named, listed, await authorization_servers(probe, route, document.get("authorization_servers"))]


def _no_metadata(route: str, verdict: Verdict, detail: str) -> list[Result]:
    return [
        Result("metadata-resource", route, verdict, detail),
        Result("metadata-scopes", route, Verdict.NA, "no metadata"),
        Result("auth-server", route, Verdict.NA, "no metadata"),
    ]


async def authorization_servers(probe: Probe, route: str, servers: Any) -> Result:
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        return Result(
            "auth-server", route, Verdict.FAIL, f"authorization_servers missing or empty: {servers!r}"
        )
    results = [await authorization_server(probe, route, issuer) for issuer in servers]
    worst = next((r for v in (Verdict.FAIL, Verdict.WARN) for r in results if r.verdict is v), results[0])
    return Result("auth-server", route, worst.verdict, "; ".join(r.detail for r in results))


async def authorization_server(probe: Probe, route: str, issuer: str) -> Result:
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        return Result("auth-server", route, Verdict.FAIL, f"{issuer}: not https")
    tried: list[str] = []
    for kind, url in discovery_urls(issuer):
        try:
            response = await probe.send("GET", url, headers={"accept": "application/json"})
        except httpx.HTTPError as error:
            tried.append(f"{url}: {describe(error)}")
            continue
        document = _json_object(response) if response.status_code == 200 else None
        if document is None:
            tried.append(f"{url}: {response.status_code}")
            continue
        return _judge_server(route, issuer, kind, url, document)
    return Result(
        "auth-server", route, Verdict.FAIL, f"{issuer}: no RFC 8414 or OIDC metadata ({'; '.join(tried)})"
    )


def discovery_urls(issuer: str) -> list[tuple[str, str]]:
    """In the order MCP clients try them (MCP authorization, "Authorization Server Metadata
    Discovery"): RFC 8414 and OIDC with the well-known part inserted, then OIDC appended."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    urls = [
        ("RFC 8414", f"{origin}/.well-known/oauth-authorization-server{path}"),
        ("OIDC", f"{origin}/.well-known/openid-configuration{path}"),
    ]
    if path:
        urls.append(("OIDC", f"{origin}{path}/.well-known/openid-configuration"))
    return urls


def _judge_server(route: str, issuer: str, kind: str, url: str, document: dict[str, Any]) -> Result:
    named = document.get("issuer")
    if named != issuer:
        # RFC 8414 3.3: the issuer must be identical; a trailing slash is the usual slip.
        slip = isinstance(named, str) and named.rstrip("/") == issuer.rstrip("/")
        return Result(
            "auth-server",
            route,
            Verdict.WARN if slip else Verdict.FAIL,
            f"{url} names issuer {named!r}, not {issuer!r}",
        )
    missing = [name for name in SIGN_IN_FIELDS if not isinstance(document.get(name), str)]
    if "S256" not in (document.get("code_challenge_methods_supported") or []):
        missing.append("code_challenge_methods_supported S256")
    if missing:
        return Result(
            "auth-server",
            route,
            Verdict.WARN,
            f"{kind} at {url}, but no {', '.join(missing)}: interactive clients cannot sign in",
        )
    return Result("auth-server", route, Verdict.PASS, f"{kind} at {url}")


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
