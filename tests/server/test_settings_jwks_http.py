"""AUTH_JWKS_ALLOW_HTTP: behind the gateway the JWKS is the gateway's private http address."""

from __future__ import annotations

import pytest

from mcp_notes.settings import SettingsError, load_settings

BASE = {
    "MCP_HOST": "0.0.0.0",
    "MCP_PUBLIC_URL": "https://mcp.example.com/notes/mcp",
    "MCP_REQUEST_STATE_KEY": "x" * 32,
    "AUTH_ISSUER": "https://mcp.example.com/gateway",
}
PRIVATE_JWKS = "http://gateway.mcp.svc:8080/.well-known/jwks.json"


def test_http_jwks_on_a_private_host_is_refused_by_default() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({**BASE, "AUTH_JWKS_URL": PRIVATE_JWKS})
    assert "AUTH_JWKS_URL" in str(error.value)
    assert "AUTH_JWKS_ALLOW_HTTP" in str(error.value)


def test_allow_http_accepts_a_private_http_jwks() -> None:
    settings = load_settings({**BASE, "AUTH_JWKS_URL": PRIVATE_JWKS, "AUTH_JWKS_ALLOW_HTTP": "true"})
    assert settings.auth_jwks_url == PRIVATE_JWKS
    assert settings.auth_jwks_allow_http is True


def test_allow_http_does_not_relax_the_issuer_or_public_url() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(
            {**BASE, "AUTH_ISSUER": "http://gateway.mcp.svc:8080/gateway", "AUTH_JWKS_ALLOW_HTTP": "true"}
        )
    assert "AUTH_ISSUER" in str(error.value)
