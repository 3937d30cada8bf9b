"""Bearer token validation: signature by the issuer's JWKS, issuer, audience (RFC 8707),
exp/nbf with a small leeway, and an algorithm allow-list with no `none` and no HMAC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from mcp_notes.auth.jwks import JwksCache, JwksUnavailable


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
    expires_at: int | None
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
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._algorithms = algorithms
        self._leeway = leeway_seconds
        self._tenant_claim = tenant_claim

    @property
    def issuer(self) -> str:
        return self._issuer

    async def validate(self, token: str) -> Principal:
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
            tenant = str(claims.get(self._tenant_claim) or "")
            if not tenant:
                raise TokenRejected("missing_claim", f"the token has no {self._tenant_claim} claim")
        return Principal(
            subject=str(claims["sub"]),
            tenant=tenant,
            scopes=frozenset(_scopes(claims)),
            client_id=claims.get("client_id") or claims.get("azp"),
            expires_at=claims.get("exp"),
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


def _scopes(claims: dict[str, Any]) -> list[str]:
    """`scope` is a space-separated string (RFC 8693/9068); some issuers send `scp` as a list."""
    raw = claims.get("scope", claims.get("scp", ""))
    return raw.split() if isinstance(raw, str) else [str(s) for s in raw]
