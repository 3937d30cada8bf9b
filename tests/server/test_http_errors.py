"""Bad input over real HTTP: each gets the protocol's status and a JSON-RPC error body, is
logged and counted, and never produces a 500 or a stack trace."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer
from tests.server.server_process import PUBLIC_URL, ServerProcess, running_server, server_env

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def post(
    server: ServerProcess,
    body: bytes | dict[str, Any],
    *,
    token: str | None = None,
    modern: bool = True,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if isinstance(body, dict) and modern:
        sent |= {"mcp-protocol-version": MODERN, "mcp-method": str(body.get("method"))}
        params = body.setdefault("params", {})
        if isinstance(params, dict):
            params.setdefault("_meta", META)
            if "name" in params:
                sent["mcp-name"] = str(params["name"])
    if token:
        sent["authorization"] = f"Bearer {token}"
    sent |= headers or {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(server.url, content=data, headers=sent, timeout=10)


def rpc_error(response: httpx.Response) -> dict[str, Any]:
    payload = response.json()
    assert payload["jsonrpc"] == "2.0", payload
    assert "error" in payload, payload
    assert "Traceback" not in response.text
    return payload["error"]


def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def logged(server: ServerProcess, request_id: str) -> dict[str, Any]:
    for _ in range(50):
        for entry in server.request_logs():
            if entry.get("request_id") == request_id:
                return entry
        time.sleep(0.05)
    raise AssertionError(f"no request log line for {request_id}")


def hs256(issuer: Issuer) -> str:
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": "m", "aud": PUBLIC_URL, "exp": now + 60}
    return jwt.encode(
        claims, "a-shared-secret-guess-0123456789abcdef", algorithm="HS256", headers={"kid": "rsa-1"}
    )


def unsigned(issuer: Issuer) -> str:
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": "m", "aud": PUBLIC_URL, "exp": now + 60}
    return jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]


BAD_TOKENS = {
    "missing": (lambda i: None, "missing_token"),
    "expired": (lambda i: i.token(PUBLIC_URL, lifetime=-300), "expired"),
    "not-yet-valid": (lambda i: i.token(PUBLIC_URL, not_before=int(time.time()) + 900), "not_yet_valid"),
    "wrong-audience": (lambda i: i.token("https://other.example/mcp"), "audience"),
    "wrong-issuer": (lambda i: i.token(PUBLIC_URL, issuer="https://evil.example"), "issuer"),
    "unsigned": (unsigned, "algorithm"),
    "hmac": (hs256, "algorithm"),
    "garbage": (lambda i: "not-a-token-at-all", "malformed"),
    "stray-key": (lambda i: i.token(PUBLIC_URL, key=i.stray_key), "signature"),
}


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_bad_tokens_get_401_with_resource_metadata(server: ServerProcess, issuer: Issuer, case: str) -> None:
    make, reason = BAD_TOKENS[case]
    before = server.metric("mcp_auth_failures_total", reason=reason)
    response = post(server, call("list_tags", {}), token=make(issuer))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert (
        'resource_metadata="https://mcp.test.example/.well-known/oauth-protected-resource/mcp"' in challenge
    )
    assert rpc_error(response)["code"] == -32001
    entry = logged(server, response.headers["x-request-id"])
    assert (entry["status"], entry["auth_failure"]) == (401, reason)
    assert server.metric("mcp_auth_failures_total", reason=reason) == before + 1


def test_protected_resource_metadata_names_issuer_and_both_scopes(
    server: ServerProcess, issuer: Issuer
) -> None:
    metadata = httpx.get(f"{server.base}/.well-known/oauth-protected-resource/mcp", timeout=5).json()
    assert metadata["resource"] == PUBLIC_URL
    assert [url.rstrip("/") for url in metadata["authorization_servers"]] == [issuer.url]
    assert set(metadata["scopes_supported"]) == {"notes:read", "notes:write"}


def test_a_read_only_token_cannot_write(server: ServerProcess, issuer: Issuer) -> None:
    reader = issuer.token(PUBLIC_URL, subject="reader", scope="notes:read")
    before = server.metric("mcp_auth_failures_total", reason="insufficient_scope")
    response = post(server, call("create_note", {"title": "t", "body": "b"}), token=reader)
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="notes:write"' in challenge
    error = rpc_error(response)
    assert (error["code"], error["data"]["required_scopes"]) == (-32003, ["notes:write"])
    assert response.json()["id"] == 7
    assert server.metric("mcp_auth_failures_total", reason="insufficient_scope") == before + 1
    # reading is fine with the same token
    assert post(server, call("list_tags", {}), token=reader).status_code == 200
    writer_only = issuer.token(PUBLIC_URL, subject="reader", scope="notes:write")
    assert post(server, call("search_notes", {"query": "x"}), token=writer_only).status_code == 403


@pytest.mark.parametrize(
    ("name", "body", "modern", "status", "code"),
    [
        ("malformed-json", b'{"jsonrpc": "2.0", "id": 1, "method":', True, 400, -32700),
        ("malformed-json-legacy", b"{not json", False, 400, -32700),
        ("not-an-object", b'"hello"', False, 400, None),
        ("batch", b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', False, 400, None),
        (
            "unknown-method",
            {"jsonrpc": "2.0", "id": 1, "method": "notes/explode", "params": {}},
            True,
            404,
            -32601,
        ),
        ("unknown-method-legacy", {"jsonrpc": "2.0", "id": 1, "method": "notes/explode"}, False, 200, -32601),
        (
            "wrong-jsonrpc-version",
            {"jsonrpc": "1.0", "id": 1, "method": "tools/list", "params": {}},
            True,
            400,
            None,
        ),
        (
            "params-not-object",
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": 5},
            False,
            400,
            -32602,
        ),
        ("object-id", {"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}, False, 400, -32600),
        ("null-id", {"jsonrpc": "2.0", "id": None, "method": "tools/list"}, False, 400, -32600),
        ("boolean-id", {"jsonrpc": "2.0", "id": True, "method": "tools/list"}, False, 400, -32600),
        ("unknown-tool", call("no_such_tool", {}), True, 400, -32602),
        ("unknown-tool-legacy", call("no_such_tool", {}), False, 200, -32602),
    ],
)
def test_malformed_requests_get_a_json_rpc_error_never_500(
    server: ServerProcess, issuer: Issuer, name: str, body: Any, modern: bool, status: int, code: int | None
) -> None:
    before = server.total("mcp_requests_total")
    response = post(server, body, token=issuer.token(PUBLIC_URL), modern=modern)
    assert response.status_code == status, response.text
    error = rpc_error(response)
    if code is not None:
        assert error["code"] == code
    assert logged(server, response.headers["x-request-id"])["status"] == status
    assert server.total("mcp_requests_total") == before + 1  # counted


def test_wrong_argument_types_are_tool_errors_and_unknown_tools_are_not_counted_by_name(
    server: ServerProcess, issuer: Issuer
) -> None:
    token = issuer.token(PUBLIC_URL, subject="typo")
    response = post(server, call("search_notes", {"query": ["a"], "limit": "many"}), token=token)
    assert response.status_code == 200
    assert response.json()["result"]["isError"] is True
    before = server.metric("mcp_requests_total", method="tools/call", tool="unknown", status="rpc_error")
    post(server, call("made_up_tool_name_" + "x" * 40, {}), token=token)
    after = server.metric("mcp_requests_total", method="tools/call", tool="unknown", status="rpc_error")
    assert after == before + 1  # client-chosen names never become metric labels


@pytest.mark.parametrize(
    "query",
    ["'; DROP TABLE notes; --", "a & | ! ( ) :* <-> b", "\\", '"', "OR 1=1", "%", "🙂" * 100],
)
def test_search_with_query_syntax_is_just_text(server: ServerProcess, issuer: Issuer, query: str) -> None:
    response = post(server, call("search_notes", {"query": query}), token=issuer.token(PUBLIC_URL))
    assert response.status_code == 200
    assert response.json()["result"]["isError"] is False


def test_oversized_body_gets_413(server: ServerProcess, issuer: Issuer) -> None:
    huge = call("create_note", {"title": "t", "body": "x" * 1_100_000})
    before = server.total("mcp_requests_total")
    response = post(server, huge, token=issuer.token(PUBLIC_URL))
    assert response.status_code == 413
    assert server.metric("mcp_requests_total", method="-", tool="", status="http_413") >= 1
    assert server.total("mcp_requests_total") == before + 1
    assert rpc_error(response)["message"] == "Request body too large"


def test_disallowed_origin_and_host(server: ServerProcess, issuer: Issuer) -> None:
    token = issuer.token(PUBLIC_URL)
    origin = post(server, call("list_tags", {}), token=token, headers={"origin": "https://evil.example"})
    assert origin.status_code == 403
    assert rpc_error(origin)["data"]["detail"] == "Invalid Origin header"
    allowed = post(server, call("list_tags", {}), token=token, headers={"origin": "https://mcp.test.example"})
    assert allowed.status_code == 200
    host = post(server, call("list_tags", {}), token=token, headers={"host": "evil.example"})
    assert host.status_code == 421
    assert rpc_error(host)["message"] == "Host not allowed"
    public = post(server, call("list_tags", {}), token=token, headers={"host": "mcp.test.example"})
    assert public.status_code == 200


def test_a_server_behind_the_gateway_answers_any_host_and_origin(
    issuer: Issuer, module_database: str
) -> None:
    """MCP_ALLOWED_HOSTS=*: the platform sets it where only the gateway can reach the server, which
    calls it by whatever private name the network gives (Service Connect, run.app, svc DNS)."""
    env = server_env(issuer, module_database, REDIS, MCP_ALLOWED_HOSTS="*")
    with running_server(env) as behind:
        token = issuer.token(PUBLIC_URL)
        headers = {"host": "notes.ns.svc:8000", "origin": "https://app.example"}
        response = post(behind, call("list_tags", {}), token=token, headers=headers)
        assert response.status_code == 200


@pytest.mark.parametrize("modern", [True, False], ids=["2026-07-28", "2025-11-25"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/jsonx", "application/json-seq", ""])
def test_a_body_that_is_not_application_json_is_415(
    server: ServerProcess, issuer: Issuer, content_type: str, modern: bool
) -> None:
    token = issuer.token(PUBLIC_URL)
    headers = {"content-type": content_type, "mcp-protocol-version": MODERN if modern else "2025-11-25"}
    response = post(server, call("list_tags", {}), token=token, modern=modern, headers=headers)
    assert response.status_code == 415
    assert rpc_error(response)["message"] == "Unsupported media type"


def test_application_json_with_parameters_is_accepted(server: ServerProcess, issuer: Issuer) -> None:
    token = issuer.token(PUBLIC_URL)
    headers = {"content-type": "Application/JSON; charset=utf-8"}
    assert post(server, call("list_tags", {}), token=token, headers=headers).status_code == 200


def test_wrong_accept(server: ServerProcess, issuer: Issuer) -> None:
    token = issuer.token(PUBLIC_URL)
    accept = post(server, call("list_tags", {}), token=token, headers={"accept": "text/html"})
    assert accept.status_code == 406
    rpc_error(accept)


def test_no_request_ever_produced_a_500_or_a_traceback(server: ServerProcess) -> None:
    statuses = [entry["status"] for entry in server.request_logs()]
    assert statuses, "the other tests in this module sent requests"
    assert 500 not in statuses
    assert not [e for e in server.logs() if "Traceback" in json.dumps(e)]
    tokens = [e for e in server.logs() if "eyJ" in json.dumps(e)]
    assert tokens == [], "a token appeared in the logs"
