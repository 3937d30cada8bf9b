"""JWT validation against a real JWKS served over HTTP."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import AsyncIterator

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa

from mcp_notes.auth.jwks import JwksCache
from mcp_notes.auth.tokens import TokenRejected, TokenValidator
from tests.server.issuer import Issuer

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
