"""JWT validation against a real JWKS served over HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import jwt
import pytest
import pytest_asyncio

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
