"""Bearer token validation: signature by the issuer's JWKS, issuer, audience (RFC 8707),
exp/nbf with a small leeway, and an algorithm allow-list with no `none` and no HMAC.

Claims the rest of the server relies on are checked here, so a token the issuer signed but no
one expected (an empty or binary `sub`, a numeric `scope`) is a 401 with a reason, never a 500
further in: `sub` (and the tenant claim) must be short printable text, `exp`/`nbf`/`iat` numbers
(fractions allowed, RFC 7519), `scope` a string or a list of strings; a numeric `client_id` is
taken as its decimal string.

Verified tokens are remembered by SHA-256 until they expire, so a repeated token costs a hash
and a dict lookup instead of a signature check. Rejections are not remembered: every one was
decided without a signature check or by a single one, and bad tokens an attacker can mint
without end must not be able to evict good ones.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from mcp_notes.auth.jwks import JwksCache, JwksUnavailable

MAX_IDENTIFIER = 255  # OpenID Connect Core's limit for `sub`; owners are stored and logged
VERIFIED_CACHE_SIZE = 10_000


class TokenRejected(Exception):
    """`reason` is a short label for metrics and logs; the message is safe to show the caller."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    scopes: frozenset[str]
    client_id: str | None
    expires_at: int  # the token's `exp`, in whole seconds
    token: str  # kept only to satisfy the SDK's AccessToken; never logged


class TokenValidator:
    def __init__(
        self,
        jwks: JwksCache,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        leeway_seconds: int,
        tenant_claim: str | None,
        cache_size: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._algorithms = algorithms
        self._leeway = leeway_seconds
        self._tenant_claim = tenant_claim
        self._cache_size = cache_size
        # token digest -> (principal, the JWKS generation whose key verified it)
        self._verified: OrderedDict[bytes, tuple[Principal, int]] = OrderedDict()

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def leeway_seconds(self) -> int:
        return self._leeway

    async def validate(self, token: str) -> Principal:
        if not token.isascii():  # a JWT is base64url and dots; this also makes encode() total
            raise TokenRejected("malformed", "the token is not a JWT")
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(digest)
        if cached is not None:
            principal, generation = cached
            # PyJWT's own test: expired once exp <= now - leeway
            if generation == self._jwks.generation and time.time() < principal.expires_at + self._leeway:
                self._verified.move_to_end(digest)
                self._jwks.revalidate()  # keys still age while every token is a cache hit
                return principal
            del self._verified[digest]  # expired, or its key may have been withdrawn: check again
        principal = await self._verify(token)
        # No await since the key was looked up, so this is the generation that key came from.
        self._verified[digest] = (principal, self._jwks.generation)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:  # DecodeError and the header checks PyJWT does itself
            raise TokenRejected("malformed", "the token is not a JWT") from None
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("malformed", "the token's key id is not a string")
        algorithm = str(header.get("alg"))
        if algorithm not in self._algorithms:
            raise TokenRejected("algorithm", f"tokens signed with {algorithm} are not accepted")
        try:
            key = await self._jwks.key(kid, algorithm)
        except JwksUnavailable:
            raise TokenRejected("jwks_unavailable", "the issuer's keys are unavailable") from None
        if key is None:
            raise TokenRejected("unknown_key", "the token's signing key is unknown")
        claims = self._decode(token, key, algorithm)
        tenant = ""
        if self._tenant_claim is not None:
            if claims.get(self._tenant_claim) in (None, ""):
                raise TokenRejected("missing_claim", f"the token has no {self._tenant_claim} claim")
            tenant = _identifier(claims, self._tenant_claim, numbers=True)
        for name in ("nbf", "iat"):
            if name in claims:
                _numeric_date(claims, name)
        client_id = next((c for c in ("client_id", "azp") if claims.get(c) not in (None, "")), None)
        return Principal(
            subject=_identifier(claims, "sub"),
            tenant=tenant,
            scopes=_scopes(claims),
            client_id=_identifier(claims, client_id, numbers=True) if client_id else None,
            expires_at=_numeric_date(claims, "exp"),
            token=token,
        )

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("not_yet_valid", "the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("audience", f"the token is not meant for {self._audience}") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("issuer", "the token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("signature", "the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected("missing_claim", f"the token has no {error.claim} claim") from None
        except jwt.InvalidTokenError:
            raise TokenRejected("malformed", "the token is not a valid JWT") from None


def _invalid(name: str, what: str) -> TokenRejected:
    return TokenRejected("invalid_claim", f"the token's {name} claim must be {what}")


def _identifier(claims: dict[str, Any], name: str, *, numbers: bool = False) -> str:
    """Printable text, as owners and rate-limit keys need it: no control characters (Postgres
    refuses NUL, logs must not be forged), no lone surrogates (they cannot be encoded)."""
    value = claims.get(name)
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_IDENTIFIER or not value.isprintable():
        raise _invalid(name, f"printable text of 1 to {MAX_IDENTIFIER} characters")
    return value


def _numeric_date(claims: dict[str, Any], name: str) -> int:
    """Whole seconds: RFC 7519 allows fractions, the SDK's AccessToken does not."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _invalid(name, "a number of seconds since the epoch")
    return math.floor(value)


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    """`scope` is a space-separated string (RFC 8693/9068); some issuers send a list, or `scp`."""
    name = "scope" if claims.get("scope") is not None else "scp"
    raw = claims.get(name)
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return frozenset(raw)
    raise _invalid(name, "a string or a list of strings")
