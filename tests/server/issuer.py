"""A real OAuth issuer for tests: signing keys, a JWKS and RFC 8414 metadata served over HTTP
on a free localhost port, and helpers that mint tokens good and bad."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


@dataclass
class Issuer:
    url: str
    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    stray_key: rsa.RSAPrivateKey  # never published: signatures by it must fail
    jwks_requests: list[float] = field(default_factory=list)
    rotated_in: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)  # keys published later

    def token(
        self,
        audience: str,
        *,
        subject: str = "alice",
        scope: str = "notes:read notes:write",
        lifetime: int = 300,
        not_before: int | None = None,
        issuer: str | None = None,
        algorithm: str = "RS256",
        kid: str | None = "rsa-1",
        key: Any = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": issuer or self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "scope": scope,
            **claims,
        }
        if not_before is not None:
            payload["nbf"] = not_before
        signing_key = key if key is not None else (self.ec_key if algorithm == "ES256" else self.rsa_key)
        headers = {"kid": kid} if kid else {}
        return jwt.encode(payload, signing_key, algorithm=algorithm, headers=headers)

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key()))
        rotated = [
            {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}
            for kid, key in self.rotated_in.items()
        ]
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"},
                {**ec_jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"},
                *rotated,
            ]
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    port = free_port()
    issuer = Issuer(
        url=f"http://127.0.0.1:{port}",
        rsa_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec_key=ec.generate_private_key(ec.SECP256R1()),
        stray_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/oauth-authorization-server":
                body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
            elif self.path == "/jwks.json":
                issuer.jwks_requests.append(time.monotonic())
                body = issuer.jwks()
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
