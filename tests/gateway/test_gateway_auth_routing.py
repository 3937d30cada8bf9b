"""Routing and central auth through the gateway, with the official client in both protocol eras."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from tests.gateway.conftest import Platform
from tests.server.mcp_client import MODES, connect, structured

pytestmark = pytest.mark.parametrize("mode", MODES)


async def test_notes_through_the_gateway(platform: Platform, mode: str) -> None:
    token = platform.token("notes", "notes:read notes:write", subject=f"alice-{mode}")
    async with connect(platform.url("notes"), token, mode) as client:
        created = structured(await client.call_tool("create_note", {"title": "Hi", "body": f"via gw {mode}"}))
        found = structured(await client.call_tool("search_notes", {"query": "via"}))
    assert created["title"] == "Hi"
    assert [n["id"] for n in found["results"]] == [created["id"]]


async def test_plain_server_through_the_gateway(platform: Platform, mode: str) -> None:
    async with connect(platform.url("plain"), platform.token("plain", "plain:use"), mode) as client:
        result = await client.call_tool("echo", {"text": "hello"})
    assert result.content[0].text == "hello"  # type: ignore[union-attr]


async def test_the_upstream_never_sees_the_client_token(platform: Platform, mode: str) -> None:
    client_token = platform.token("plain", "plain:use other:scope", subject="bob", client_id="cli-1")
    async with connect(platform.url("plain"), client_token, mode) as client:
        await client.call_tool("echo", {"text": "who"})
    seen = platform.plain.seen()
    assert all(client_token not in str(headers) for headers in seen)
    gateway_token = seen[-1]["authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient() as http:
        jwks = (await http.get(f"{platform.gateway.base}/.well-known/jwks.json")).json()
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(gateway_token, key, algorithms=["ES256"], audience=platform.url("plain"))
    assert claims["iss"] == f"{platform.gateway.base}/gateway"
    assert claims["sub"] == "bob"
    assert claims["client_id"] == "cli-1"
    assert claims["scope"] == "plain:use"  # the caller's scopes the route knows, no others
    assert claims["exp"] - time.time() <= 300
    assert seen[-1][":path"] == "/mcp"


def test_token_for_route_a_is_refused_on_route_b(platform: Platform, mode: str) -> None:
    token = platform.token("plain", "plain:use notes:read notes:write")
    response = httpx.post(platform.url("notes"), json=_call("list_tags"), headers=_headers(token, mode))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == -32001
    challenge = response.headers["www-authenticate"]
    assert (
        f'resource_metadata="{platform.gateway.base}/.well-known/oauth-protected-resource/notes/mcp"'
        in challenge
    )


def test_read_only_token_is_refused_on_a_write_tool(platform: Platform, mode: str) -> None:
    token = platform.token("notes", "notes:read")
    response = httpx.post(
        platform.url("notes"), json=_call("create_note", title="x", body="y"), headers=_headers(token, mode)
    )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="notes:write"' in response.headers["www-authenticate"]
    assert response.json()["error"]["code"] == -32003


def test_no_token_gets_the_route_challenge_and_metadata(platform: Platform, mode: str) -> None:
    response = httpx.post(platform.url("notes"), json=_call("list_tags"), headers=_headers(None, mode))
    assert response.status_code == 401
    metadata_url = f"{platform.gateway.base}/.well-known/oauth-protected-resource/notes/mcp"
    assert f'resource_metadata="{metadata_url}"' in response.headers["www-authenticate"]
    metadata = httpx.get(metadata_url).json()
    assert metadata["resource"] == platform.url("notes")
    assert metadata["authorization_servers"] == [platform.issuer.url]
    assert metadata["scopes_supported"] == ["notes:read", "notes:write"]


def _call(tool: str, **arguments: object) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


def _headers(token: str | None, mode: str) -> dict[str, str]:
    headers = {"accept": "application/json, text/event-stream"}
    if mode != "legacy":
        headers["mcp-protocol-version"] = mode
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers
