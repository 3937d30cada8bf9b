"""The gateway's own tokens for upstream servers: the client's token never leaves the gateway
(the MCP spec forbids token passthrough). Each is a short-lived ES256 JWT whose audience is the
route, whose subject, client and tenant are the caller's, and whose scopes are the caller's
scopes that the route knows of. One per (caller token, route), reused until a minute before it
expires; the public keys are served at /.well-known/jwks.json for servers to verify with."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import OrderedDict
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from jwt.utils import base64url_encode

from mcp_notes.auth.tokens import Principal

CACHE_SIZE = 10_000
REUSE_MARGIN_SECONDS = 60  # a cached token must still have this long to live when handed out


def load_key(pem: str | None) -> ec.EllipticCurvePrivateKey:
    """The configured P-256 key, or (dev: no key configured) a fresh one for this process."""
    if pem is None:
        return ec.generate_private_key(ec.SECP256R1())
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("GATEWAY_SIGNING_KEY must be an EC P-256 private key in PEM")
    return key


class UpstreamTokens:
    def __init__(
        self, key: ec.EllipticCurvePrivateKey, issuer: str, lifetime_seconds: int, tenant_claim: str | None
    ) -> None:
        self._key = key
        self._issuer = issuer
        self._lifetime = lifetime_seconds
        self._tenant_claim = tenant_claim or "tenant"
        public = json.loads(ECAlgorithm.to_jwk(key.public_key()))
        self.kid = _thumbprint(public)  # RFC 7638: the same key gives the same kid on every replica
        self.jwks = json.dumps({"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}).encode()
        self._cache: OrderedDict[tuple[bytes, str], tuple[str, int]] = OrderedDict()

    def for_caller(self, principal: Principal, audience: str, route_scopes: tuple[str, ...]) -> str:
        digest = hashlib.sha256(principal.token.encode()).digest()
        key = (digest, audience)
        now = int(time.time())
        cached = self._cache.get(key)
        if cached is not None and cached[1] - REUSE_MARGIN_SECONDS > now:
            self._cache.move_to_end(key)
            return cached[0]
        # Never outlive the caller's own token.
        expires = min(now + self._lifetime, principal.expires_at)
        granted = sorted(principal.scopes & set(route_scopes)) if route_scopes else sorted(principal.scopes)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": audience,
            "sub": principal.subject,
            "iat": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(granted),
        }
        if principal.client_id:
            claims["client_id"] = principal.client_id
        if principal.tenant:
            claims[self._tenant_claim] = principal.tenant
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})
        self._cache[key] = (token, expires)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return token


def _thumbprint(jwk: dict[str, Any]) -> str:
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return base64url_encode(hashlib.sha256(canonical.encode()).digest()).decode()
