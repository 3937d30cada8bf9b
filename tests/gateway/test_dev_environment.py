"""What `make dev` (mcp-gateway dev) hands its children: the user's environment, except what
names the gateway alone."""

from __future__ import annotations

import pytest

from mcp_gateway import dev


@pytest.fixture
def user_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "my-gateway")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("AUTH_ISSUER", "https://issuer.example")
    monkeypatch.setenv("AUTH_AUDIENCE", "https://elsewhere.example/mcp")
    monkeypatch.setenv("DEV_TIME_PREFIX", "/tmp/time-prefix")


@pytest.mark.usefixtures("user_env")
def test_the_notes_server_keeps_its_own_service_name_and_trusts_the_gateway() -> None:
    env = dev.notes_environment(4100)
    assert "OTEL_SERVICE_NAME" not in env  # it reports as mcp-notes, not as the gateway
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"  # still traced
    assert env["MCP_PORT"] == "4100"
    assert env["AUTH_ISSUER"] == f"{dev.GATEWAY}/gateway"
    assert env["AUTH_AUDIENCE"] == f"{dev.GATEWAY}/notes/mcp"


@pytest.mark.usefixtures("user_env")
def test_the_bridge_keeps_its_own_service_name_and_no_auth_settings() -> None:
    env = dev.bridge_environment(4101)
    assert "OTEL_SERVICE_NAME" not in env
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert not [key for key in env if key.startswith("AUTH_")]
    assert (env["BRIDGE_PORT"], env["BRIDGE_PREFIX"]) == ("4101", "/tmp/time-prefix")


def test_without_auth_the_notes_server_gets_no_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTH_ISSUER", raising=False)
    monkeypatch.setenv("AUTH_AUDIENCE", "https://elsewhere.example/mcp")
    env = dev.notes_environment(4102)
    assert "AUTH_ISSUER" not in env
    assert "AUTH_AUDIENCE" not in env
