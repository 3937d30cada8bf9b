"""JWT validation against a real JWKS served over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa

from mcp_notes.auth.jwks import COLD_RETRY_SECONDS, JwksCache
from mcp_notes.auth.tokens import TokenRejected, TokenValidator
from mcp_notes.auth.verifier import Verifier
from tests.server.issuer import Issuer, running_issuer

AUDIENCE = "https://mcp.example.com/mcp"


def make_validator(issuer: Issuer, tenant_claim: str | None = None) -> tuple[TokenValidator, JwksCache]:
    jwks = JwksCache(issuer.url, min_refresh_seconds=30)
    validator = TokenValidator(
        jwks,
        issuer=issuer.url,
        audience=AUDIENCE,
        algorithms=["RS256", "ES256"],
        leeway_seconds=30,
        tenant_claim=tenant_claim,
    )
    return validator, jwks


def no_leeway(jwks: JwksCache, issuer: Issuer, cache_size: int = 10_000) -> TokenValidator:
    return TokenValidator(
        jwks,
        issuer=issuer.url,
        audience=AUDIENCE,
        algorithms=["RS256"],
        leeway_seconds=0,
        tenant_claim=None,
        cache_size=cache_size,
    )


@pytest_asyncio.fixture
async def validator(issuer: Issuer) -> AsyncIterator[TokenValidator]:
    made, jwks = make_validator(issuer)
    yield made
    await jwks.close()


async def test_a_good_token_gives_subject_and_scopes(issuer: Issuer, validator: TokenValidator) -> None:
    principal = await validator.validate(issuer.token(AUDIENCE, subject="alice", scope="notes:read"))
    assert (principal.subject, principal.scopes) == ("alice", frozenset({"notes:read"}))
    es = await validator.validate(issuer.token(AUDIENCE, algorithm="ES256", kid="ec-1"))
    assert es.subject == "alice"


def _unsigned(issuer: Issuer) -> str:
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": "mallory", "aud": AUDIENCE, "exp": now + 60}
    return jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]


def _hmac(issuer: Issuer) -> str:
    # The classic confusion attack: HMAC keyed with the issuer's *public* key material.
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": "mallory", "aud": AUDIENCE, "exp": now + 60}
    return jwt.encode(
        claims, "public-key-bytes-as-secret-0123456789", algorithm="HS256", headers={"kid": "rsa-1"}
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda i: i.token(AUDIENCE, lifetime=-120), "expired"),
        (lambda i: i.token(AUDIENCE, not_before=int(time.time()) + 600), "not_yet_valid"),
        (lambda i: i.token("https://other.example.com/mcp"), "audience"),
        (lambda i: i.token(AUDIENCE, issuer="https://evil.example.com"), "issuer"),
        (lambda i: i.token(AUDIENCE, key=i.stray_key), "signature"),
        (lambda i: i.token(AUDIENCE, kid="nobody"), "unknown_key"),
        (_unsigned, "algorithm"),
        (_hmac, "algorithm"),
        (lambda i: "not.a.jwt", "malformed"),
        (lambda i: "garbage", "malformed"),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-audience",
        "wrong-issuer",
        "stray-key",
        "unknown-kid",
        "unsigned",
        "hmac",
        "three-dots",
        "garbage",
    ],
)
async def test_bad_tokens_are_rejected_with_a_reason(
    issuer: Issuer, validator: TokenValidator, make, reason: str
) -> None:
    with pytest.raises(TokenRejected) as caught:
        await validator.validate(make(issuer))
    assert caught.value.reason == reason


async def test_small_clock_skew_is_tolerated(issuer: Issuer, validator: TokenValidator) -> None:
    principal = await validator.validate(issuer.token(AUDIENCE, lifetime=-10))  # 10 s < 30 s leeway
    assert principal.subject == "alice"


async def test_unknown_key_ids_do_not_hammer_the_issuer(issuer: Issuer) -> None:
    validator, jwks = make_validator(issuer)
    before = len(issuer.jwks_requests)
    for n in range(20):
        with pytest.raises(TokenRejected):
            await validator.validate(issuer.token(AUDIENCE, kid=f"made-up-{n}"))
    await jwks.close()
    assert len(issuer.jwks_requests) - before == 1  # first fetch only; refresh is rate-limited


async def test_tenant_claim_is_required_when_configured(issuer: Issuer) -> None:
    validator, jwks = make_validator(issuer, tenant_claim="org")
    assert (await validator.validate(issuer.token(AUDIENCE, org="acme"))).tenant == "acme"
    with pytest.raises(TokenRejected, match="no org claim"):
        await validator.validate(issuer.token(AUDIENCE))
    await jwks.close()


def _with_header(header: dict, issuer: Issuer) -> str:
    """A token whose header PyJWT itself would refuse to write."""
    signed = issuer.token(AUDIENCE)
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return ".".join([encoded, *signed.split(".")[1:]])


@pytest.mark.parametrize(
    "header", [{"alg": "RS256", "kid": ["a"]}, {"alg": "RS256", "kid": 7}, {"alg": ["RS256"]}]
)
async def test_a_malformed_header_is_rejected_not_crashed_on(
    issuer: Issuer, validator: TokenValidator, header: dict
) -> None:
    with pytest.raises(TokenRejected) as caught:
        await validator.validate(_with_header(header, issuer))
    assert caught.value.reason in {"malformed", "algorithm"}


async def test_a_rotated_key_is_picked_up_on_first_sight(issuer: Issuer) -> None:
    jwks = JwksCache(issuer.url, min_refresh_seconds=0)
    validator = TokenValidator(
        jwks, issuer=issuer.url, audience=AUDIENCE, algorithms=["RS256"], leeway_seconds=0, tenant_claim=None
    )
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = issuer.token(AUDIENCE, kid="rsa-2", key=new_key)
    with pytest.raises(TokenRejected, match="signing key is unknown"):
        await validator.validate(token)  # not published yet
    issuer.rotated_in["rsa-2"] = new_key
    try:
        assert (await validator.validate(token)).subject == "alice"  # refetched for the new kid
    finally:
        del issuer.rotated_in["rsa-2"]
        await jwks.close()


async def test_a_silent_issuer_times_out_instead_of_hanging() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts connections, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        jwks = JwksCache(url, f"{url}/jwks.json", timeout_seconds=0.5)
        validator = TokenValidator(
            jwks, issuer=url, audience=AUDIENCE, algorithms=["RS256"], leeway_seconds=0, tenant_claim=None
        )
        token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
        token = _rs256_shaped(token)
        started = time.monotonic()
        with pytest.raises(TokenRejected) as caught:
            await validator.validate(token)
        await jwks.close()
    assert caught.value.reason == "jwks_unavailable"
    assert time.monotonic() - started < 5


def _rs256_shaped(token: str) -> str:
    header = (
        base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": "any"}).encode()).rstrip(b"=").decode()
    )
    return ".".join([header, *token.split(".")[1:]])


# --- claims a real issuer may sign: normalised or refused, never a crash ---------------------


@pytest.mark.parametrize(
    ("claims", "field", "value"),
    [
        ({"exp": 2_000_000_000.75}, "expires_at", 2_000_000_000),
        ({"client_id": 7}, "client_id", "7"),
        ({"azp": "web-app"}, "client_id", "web-app"),
        ({"scope": None, "scp": ["notes:read", "notes:write"]}, "scopes", {"notes:read", "notes:write"}),
        ({"scope": ["notes:read"]}, "scopes", {"notes:read"}),
        ({"subject": "zoë"}, "subject", "zoë"),
    ],
    ids=["fractional-exp", "numeric-client-id", "azp", "scp-list", "scope-list", "unicode-sub"],
)
async def test_odd_but_valid_claims_are_normalised(
    issuer: Issuer, validator: TokenValidator, claims: dict, field: str, value: object
) -> None:
    principal = await validator.validate(issuer.token(AUDIENCE, **claims))
    assert getattr(principal, field) == value


@pytest.mark.parametrize(
    "claims",
    [
        {"subject": ""},
        {"subject": "a\ud800"},
        {"subject": "a\x00b"},
        {"subject": "a\x1fb"},
        {"subject": "a\u202eb"},  # right-to-left override: forges log lines
        {"subject": "a" * 256},
        {"scope": 5},
        {"scope": ["notes:read", 5]},
        {"scp": {"notes:read": True}, "scope": None},
        {"exp": "2000000000"},
        {"nbf": "0"},
        {"iat": "0"},
        {"client_id": {"id": 1}},
        {"client_id": True},
        {"azp": "x\n"},
    ],
    ids=lambda claims: json.dumps(claims)[:40],
)
async def test_claims_the_server_cannot_use_are_refused_by_name(
    issuer: Issuer, validator: TokenValidator, claims: dict
) -> None:
    with pytest.raises(TokenRejected) as caught:
        await validator.validate(issuer.token(AUDIENCE, **claims))
    assert caught.value.reason == "invalid_claim"


@pytest.mark.parametrize(("org", "tenant"), [("acme", "acme"), (42, "42")])
async def test_a_tenant_may_be_text_or_a_number(issuer: Issuer, org: object, tenant: str) -> None:
    validator, jwks = make_validator(issuer, tenant_claim="org")
    assert (await validator.validate(issuer.token(AUDIENCE, org=org))).tenant == tenant
    await jwks.close()


@pytest.mark.parametrize("org", ["a\x00", ["acme"], True, "x" * 256])
async def test_an_unusable_tenant_is_refused(issuer: Issuer, org: object) -> None:
    validator, jwks = make_validator(issuer, tenant_claim="org")
    with pytest.raises(TokenRejected) as caught:
        await validator.validate(issuer.token(AUDIENCE, org=org))
    assert caught.value.reason == "invalid_claim"
    await jwks.close()


async def test_a_token_that_is_not_ascii_is_malformed(validator: TokenValidator) -> None:
    with pytest.raises(TokenRejected) as caught:
        await validator.validate("é.\ud800.x")
    assert caught.value.reason == "malformed"


async def test_the_verifier_hands_the_sdk_exp_plus_leeway(issuer: Issuer, validator: TokenValidator) -> None:
    token = issuer.token(AUDIENCE, exp=time.time() - 10.5)  # within the 30 s leeway
    access = await Verifier(validator, AUDIENCE).verify_token(token)
    assert access is not None
    assert access.expires_at is not None
    assert access.expires_at > time.time()  # the SDK's own exp check passes it too
    assert access.subject == "alice"


# --- verified tokens are remembered until they expire ------------------------------------------


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    verify = jwt.api_jws.PyJWS._verify_signature

    def counting(self: jwt.api_jws.PyJWS, *args: Any, **kwargs: Any) -> None:
        calls.append(args)
        return verify(self, *args, **kwargs)

    monkeypatch.setattr(jwt.api_jws.PyJWS, "_verify_signature", counting)
    return calls


async def test_a_repeated_token_is_not_verified_again(
    issuer: Issuer, validator: TokenValidator, signature_checks: list[object]
) -> None:
    token = issuer.token(AUDIENCE)
    first = await validator.validate(token)
    assert len(signature_checks) == 1
    assert await validator.validate(token) is first
    assert len(signature_checks) == 1
    await validator.validate(issuer.token(AUDIENCE))  # another token: verified
    assert len(signature_checks) == 2


async def test_a_cached_token_is_checked_again_once_it_expires(
    issuer: Issuer, signature_checks: list[object]
) -> None:
    jwks = JwksCache(issuer.url)
    validator = no_leeway(jwks, issuer)
    # `exp` is whole seconds: +2 leaves at least a second for the first check (JWKS fetch included).
    exp = int(time.time()) + 2
    token = issuer.token(AUDIENCE, exp=exp)
    await validator.validate(token)
    await asyncio.sleep(max(0.0, exp - time.time()) + 0.05)
    with pytest.raises(TokenRejected) as caught:
        await validator.validate(token)
    await jwks.close()
    assert caught.value.reason == "expired"
    assert len(signature_checks) == 2


async def test_the_cache_is_bounded(issuer: Issuer, signature_checks: list[object]) -> None:
    jwks = JwksCache(issuer.url)
    validator = no_leeway(jwks, issuer, cache_size=2)
    first, second, third = (issuer.token(AUDIENCE, subject=f"u{n}") for n in range(3))
    for token in (first, second, third, third, second):
        await validator.validate(token)
    assert len(signature_checks) == 3
    await validator.validate(first)  # evicted by the third
    await jwks.close()
    assert len(signature_checks) == 4


async def test_rejections_are_not_cached(
    issuer: Issuer, validator: TokenValidator, signature_checks: list[object]
) -> None:
    token = issuer.token(AUDIENCE, key=issuer.stray_key)
    for _ in range(2):
        with pytest.raises(TokenRejected, match="signature"):
            await validator.validate(token)
    assert len(signature_checks) == 2


async def test_a_cached_token_stops_working_when_its_key_is_withdrawn() -> None:
    with running_issuer() as issuer:
        jwks = JwksCache(issuer.url, ttl_seconds=0.2)
        validator = no_leeway(jwks, issuer)
        issuer.rotated_in["rsa-2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = issuer.token(AUDIENCE, kid="rsa-2", key=issuer.rotated_in["rsa-2"])
        await validator.validate(token)
        del issuer.rotated_in["rsa-2"]
        generation = jwks.generation
        await asyncio.sleep(0.3)  # past the TTL
        await validator.validate(token)  # still cached; starts a background refresh
        for _ in range(100):
            if jwks.generation != generation:
                break
            await asyncio.sleep(0.02)
        with pytest.raises(TokenRejected) as caught:
            await validator.validate(token)
        await jwks.close()
    assert caught.value.reason == "unknown_key"


# --- the JWKS: one fetch at a time, stale keys served while the issuer is away -----------------


async def test_requests_during_the_first_fetch_all_wait_for_it() -> None:
    with running_issuer() as issuer:
        issuer.delay = 0.3
        validator, jwks = make_validator(issuer)
        jwks.warm()
        tokens = [issuer.token(AUDIENCE, subject=f"u{n}") for n in range(20)]
        principals = await asyncio.gather(*(validator.validate(t) for t in tokens))
        await jwks.close()
    assert [p.subject for p in principals] == [f"u{n}" for n in range(20)]
    assert len(issuer.jwks_requests) == 1


async def test_warm_does_not_wait_for_the_issuer() -> None:
    with running_issuer() as issuer:
        issuer.delay = 30  # released when the issuer stops
        jwks = JwksCache(issuer.url, timeout_seconds=10)
        jwks.warm()  # returns at once: it is not even a coroutine
        await asyncio.sleep(0.1)
        assert issuer.unanswered == 1
        await jwks.close()  # cancels the fetch


async def test_stale_keys_serve_while_the_refresh_hangs_or_fails(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mcp_notes.auth.jwks")
    with running_issuer() as issuer:
        jwks = JwksCache(issuer.url, timeout_seconds=2, ttl_seconds=0.2)
        validator = no_leeway(jwks, issuer)
        await validator.validate(issuer.token(AUDIENCE))
        issuer.delay = 30
        # hanging past the 2 s timeout, so that refresh fails; then dropping every connection
        for down, seconds in ((False, 2.5), (True, 1.0)):
            if down:
                issuer.down = True
                issuer.released.set()  # the refresh hanging now fails at once
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                started = time.monotonic()
                await validator.validate(issuer.token(AUDIENCE))  # a new token: no cache hit
                assert time.monotonic() - started < 1.0  # never waits for the 2 s issuer timeout
                await asyncio.sleep(0.05)
        issuer.down = False
        await asyncio.sleep(0.3)
        await validator.validate(issuer.token(AUDIENCE))  # starts a refresh that succeeds
        for _ in range(100):
            if "jwks refresh recovered" in caplog.messages:
                break
            await asyncio.sleep(0.02)
        await jwks.close()
    assert caplog.messages.count("jwks refresh failed") == 1  # one warning for the whole outage
    assert "jwks refresh recovered" in caplog.messages
    # first fetch, the hanging one, one per TTL while down, the recovery; not one per request
    assert 4 <= len(issuer.jwks_requests) <= 10


async def test_an_issuer_down_at_start_is_retried_soon() -> None:
    with running_issuer() as issuer:
        issuer.down = True
        validator, jwks = make_validator(issuer)  # min_refresh_seconds=30
        with pytest.raises(TokenRejected) as caught:
            await validator.validate(issuer.token(AUDIENCE))
        assert caught.value.reason == "jwks_unavailable"
        issuer.down = False
        reasons = []
        for _ in range(30):  # a retry runs at most every COLD_RETRY_SECONDS, in the background
            try:
                await validator.validate(issuer.token(AUDIENCE))
                break
            except TokenRejected as rejected:
                reasons.append(rejected.reason)
            await asyncio.sleep(COLD_RETRY_SECONDS / 5)
        else:
            pytest.fail("the issuer came back but its keys were never fetched")
        await jwks.close()
    assert set(reasons) <= {"jwks_unavailable"}


async def test_made_up_key_ids_do_not_wait_on_a_failing_issuer(caplog: pytest.LogCaptureFixture) -> None:
    with running_issuer() as issuer:
        jwks = JwksCache(issuer.url, timeout_seconds=1, ttl_seconds=0.2, min_refresh_seconds=0.2)
        validator = no_leeway(jwks, issuer)
        await validator.validate(issuer.token(AUDIENCE))
        issuer.delay = 30
        await asyncio.sleep(0.3)
        await validator.validate(issuer.token(AUDIENCE))  # stale: a refresh starts, and hangs
        for _ in range(100):
            if "jwks refresh failed" in caplog.messages:
                break
            await asyncio.sleep(0.05)
        assert "jwks refresh failed" in caplog.messages
        for n in range(5):
            await asyncio.sleep(0.25)  # each may start a refresh; none may be waited for
            started = time.monotonic()
            with pytest.raises(TokenRejected, match="signing key is unknown"):
                await validator.validate(issuer.token(AUDIENCE, kid=f"made-up-{n}"))
            assert time.monotonic() - started < 0.5  # not the issuer's 1 s timeout
        await jwks.close()


@pytest.mark.parametrize(
    "document",
    [[], {"keys": 5}, {"keys": [5, "x", {"kty": "RSA"}, {"kty": "EC", "alg": ["ES256"]}]}, {}],
)
async def test_a_broken_jwks_document_is_a_failed_refresh_not_a_crash(document: object) -> None:
    with running_issuer() as issuer:
        issuer.jwks = lambda: document  # type: ignore[method-assign]
        validator, jwks = make_validator(issuer)
        with pytest.raises(TokenRejected) as caught:
            await validator.validate(issuer.token(AUDIENCE))
        await jwks.close()
    assert caught.value.reason in {"jwks_unavailable", "unknown_key"}
