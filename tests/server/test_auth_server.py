"""Authentication through a real `mcp-notes serve` process: a cold start with a slow issuer, an
issuer that hangs or dies once keys are cached, hostile but correctly signed tokens, and the
leeway on `exp`. Every refusal is a 401, never a 5xx, and the log never holds a traceback or a
token."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer, running_issuer
from tests.server.server_process import PUBLIC_URL, ServerProcess, running_server, server_env

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
ISSUER_TIMEOUT = 5.0  # JwksCache's default fetch timeout


def call(name: str, arguments: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": META},
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": "tools/call",
        "mcp-name": name,
    }
    return json.dumps(body).encode(), headers


def post(server: ServerProcess, token: str, name: str = "list_tags", **arguments: Any) -> httpx.Response:
    body, headers = call(name, arguments)
    return httpx.post(
        server.url, content=body, headers={**headers, "authorization": f"Bearer {token}"}, timeout=30
    )


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    return result["structuredContent"]


def assert_clean_log(server: ServerProcess, since: int, *tokens: str) -> None:
    """The log lines from `since` on: a shared server's log holds other tests' lines too."""
    text = "\n".join(server.lines[since:])
    assert "Traceback" not in text
    assert "unexpectedly" not in text  # the verifier's last-resort log line
    for token in tokens:
        assert token not in text


def auth_failure(server: ServerProcess, response: httpx.Response) -> str | None:
    request_id = response.headers["x-request-id"]
    for _ in range(50):
        for entry in server.request_logs():
            if entry.get("request_id") == request_id:
                return entry.get("auth_failure")
        time.sleep(0.05)
    raise AssertionError(f"no request log line for {request_id}")


@pytest.fixture
def own_issuer() -> Iterator[Issuer]:
    """An issuer of its own: these tests slow it down and take it away."""
    with running_issuer() as running:
        yield running


def test_a_burst_during_the_first_jwks_fetch_waits_for_it(own_issuer: Issuer, module_database: str) -> None:
    own_issuer.delay = 0.5
    env = server_env(own_issuer, module_database, REDIS, RATE_LIMIT_PER_MINUTE="10000")
    tokens = [own_issuer.token(PUBLIC_URL, subject=f"burst-{n}") for n in range(20)]

    async def burst() -> list[httpx.Response]:
        body, headers = call("list_tags", {})
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.post(server.url, content=body, headers={**headers, "authorization": f"Bearer {t}"})
                    for t in tokens
                )
            )

    with running_server(env) as server:
        responses = asyncio.run(burst())
        assert [r.status_code for r in responses] == [200] * 20
        assert len(own_issuer.jwks_requests) == 1  # one fetch, shared by all
        assert_clean_log(server, 0, *tokens)


def test_no_keys_yet_is_503_retry_later_not_401_then_recovers(
    own_issuer: Issuer, module_database: str
) -> None:
    """An issuer that has not answered since start leaves no keys to check any token with: the
    token may be good, so the client is told to retry, not to log in again."""
    own_issuer.down = True
    token = own_issuer.token(PUBLIC_URL, subject="patient")
    body, headers = call("list_tags", {})
    headers = {**headers, "authorization": f"Bearer {token}"}
    with running_server(server_env(own_issuer, module_database, REDIS)) as server:
        refused = httpx.post(server.url, content=body, headers=headers, timeout=10)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["data"]["retryable"] is True
        assert "www-authenticate" not in refused.headers
        own_issuer.down = False
        deadline = time.monotonic() + 10
        answer = refused
        while answer.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.3)
            answer = httpx.post(server.url, content=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
    assert_clean_log(server, 0, token)


def test_startup_does_not_wait_for_a_hanging_issuer(own_issuer: Issuer, module_database: str) -> None:
    own_issuer.delay = 60  # hangs until the fixture releases it
    with running_server(server_env(own_issuer, module_database, REDIS)) as server:
        assert httpx.get(f"{server.base}/ready", timeout=5).status_code == 200
        assert own_issuer.unanswered == 1  # the warm-up fetch started and is still waiting...
        # ...and has not timed out yet: startup did not sit out the issuer's timeout first
        assert not [e for e in server.logs() if e.get("message") == "jwks refresh failed"]
    assert_clean_log(server, 0)


def test_cached_keys_outlive_a_hanging_then_dead_issuer(own_issuer: Issuer, module_database: str) -> None:
    env = server_env(own_issuer, module_database, REDIS, AUTH_JWKS_TTL_SECONDS="1")
    tokens: list[str] = []

    def fresh_call() -> float:
        tokens.append(own_issuer.token(PUBLIC_URL, subject=f"outage-{len(tokens)}"))  # new: no token cache
        started = time.monotonic()
        ok(post(server, tokens[-1]))
        return time.monotonic() - started

    with running_server(env) as server:
        fresh_call()  # keys cached
        own_issuer.delay = 60
        time.sleep(1.2)  # past the TTL: every call below finds the keys stale
        waited = [fresh_call() for _ in range(5)]
        assert max(waited) < ISSUER_TIMEOUT / 2  # none waited for the hanging refresh
        time.sleep(ISSUER_TIMEOUT + 0.5)  # the hanging refresh times out and fails
        own_issuer.down = True
        own_issuer.released.set()  # the next refresh, hanging by now, fails at once
        time.sleep(1.2)
        waited += [fresh_call() for _ in range(5)]
        assert max(waited) < ISSUER_TIMEOUT / 2
        own_issuer.down = False
        time.sleep(1.2)
        fresh_call()  # starts a refresh that succeeds
        messages = []
        for _ in range(100):
            messages = [e.get("message") for e in server.logs()]
            if "jwks refresh recovered" in messages:
                break
            time.sleep(0.05)
    assert messages.count("jwks refresh failed") == 1  # one per outage, not per request or attempt
    assert "jwks refresh recovered" in messages
    assert len(own_issuer.jwks_requests) >= 4  # first, hanging, down, recovery: refreshes did run
    assert_clean_log(server, 0, *tokens)


def _surrogate_token(issuer: Issuer) -> str:
    # A lone surrogate, as the JSON escape "\ud800" in a real token decodes to.
    return issuer.token(PUBLIC_URL, subject="a\ud800b")


# case -> (mint, None for a 200 or the auth_failure reason of the 401)
SIGNED_BY_THE_ISSUER: dict[str, tuple[Any, str | None]] = {
    "fractional-exp": (lambda i: i.token(PUBLIC_URL, exp=time.time() + 300.5), None),
    "fractional-nbf-iat": (
        lambda i: i.token(PUBLIC_URL, nbf=time.time() - 5.5, iat=time.time() - 1.25),
        None,
    ),
    "integer-client-id": (lambda i: i.token(PUBLIC_URL, client_id=7), None),
    "unicode-sub": (lambda i: i.token(PUBLIC_URL, subject="zoë 名前 🙂"), None),
    "scope-as-list": (lambda i: i.token(PUBLIC_URL, scope=["notes:read"]), None),
    "lone-surrogate-sub": (_surrogate_token, "invalid_claim"),
    "nul-in-sub": (lambda i: i.token(PUBLIC_URL, subject="ali\x00ce"), "invalid_claim"),
    "newline-in-sub": (lambda i: i.token(PUBLIC_URL, subject="alice\nbob"), "invalid_claim"),
    "over-long-sub": (lambda i: i.token(PUBLIC_URL, subject="a" * 256), "invalid_claim"),
    "empty-sub": (lambda i: i.token(PUBLIC_URL, subject=""), "invalid_claim"),
    "missing-sub": (lambda i: i.token(PUBLIC_URL, omit=("sub",)), "missing_claim"),
    "numeric-sub": (lambda i: i.token(PUBLIC_URL, subject=42), "malformed"),  # PyJWT's own check
    "numeric-scope": (lambda i: i.token(PUBLIC_URL, scope=5), "invalid_claim"),
    "object-scope": (lambda i: i.token(PUBLIC_URL, scope={"notes:read": True}), "invalid_claim"),
    "string-exp": (lambda i: i.token(PUBLIC_URL, exp=str(int(time.time()) + 300)), "invalid_claim"),
    "boolean-exp": (lambda i: i.token(PUBLIC_URL, exp=True), "expired"),  # PyJWT reads true as 1
    "string-nbf": (lambda i: i.token(PUBLIC_URL, nbf="0"), "invalid_claim"),
    "object-client-id": (lambda i: i.token(PUBLIC_URL, client_id={"id": "x"}), "invalid_claim"),
    "nul-in-client-id": (lambda i: i.token(PUBLIC_URL, client_id="c\x00"), "invalid_claim"),
}


@pytest.mark.parametrize("case", SIGNED_BY_THE_ISSUER)
def test_hostile_but_signed_tokens_never_crash(server: ServerProcess, issuer: Issuer, case: str) -> None:
    make, reason = SIGNED_BY_THE_ISSUER[case]
    token, since = make(issuer), len(server.lines)
    response = post(server, token)
    logged_reason = auth_failure(server, response)  # waits for the request's log line
    assert_clean_log(server, since, token)
    if reason is None:
        ok(response)
    else:
        assert (response.status_code, logged_reason) == (401, reason), response.text


def test_an_empty_subject_cannot_borrow_another_users_notes(server: ServerProcess, issuer: Issuer) -> None:
    victim, since = f"victim-{secrets.token_hex(4)}", len(server.lines)
    mine = issuer.token(PUBLIC_URL, subject=victim)
    ok(post(server, mine, "create_note", title="secret", body="the plan", tags=["private"]))
    assert ok(post(server, mine))["tags"] == [{"tag": "private", "notes": 1}]
    borrowed = issuer.token(PUBLIC_URL, subject="", client_id=victim)
    response = post(server, borrowed)
    assert response.status_code == 401, response.text
    assert "private" not in response.text
    assert_clean_log(server, since, mine, borrowed)


@pytest.mark.parametrize(("expired_ago", "status"), [(10, 200), (60, 401)])
def test_the_leeway_applies_to_exp_end_to_end(
    server: ServerProcess, issuer: Issuer, expired_ago: int, status: int
) -> None:
    token = issuer.token(PUBLIC_URL, lifetime=-expired_ago)  # AUTH_LEEWAY_SECONDS is 30 by default
    since = len(server.lines)
    response = post(server, token)
    reason = auth_failure(server, response)
    assert_clean_log(server, since, token)
    assert response.status_code == status, response.text
    if status == 401:
        assert reason == "expired"
