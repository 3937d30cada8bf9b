"""A real OAuth issuer for tests: signing keys, a JWKS and RFC 8414 metadata served over HTTP
on a free localhost port, and helpers that mint tokens good and bad. Its outages are settable:
`delay` holds every answer back (a slow or hanging issuer), `down` drops every connection
unanswered (a crashed one)."""

from __future__ import annotations

import contextlib
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
    delay: float = 0.0  # seconds before answering any request
    down: bool = False  # close every connection without an answer (after any delay)
    unanswered: int = 0  # requests being held back by `delay` right now
    released: threading.Event = field(default_factory=threading.Event)  # set: ends all delays for good

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
        omit: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """`claims` override or add any claim, of any JSON type; `omit` drops standard ones."""
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
        for name in omit:
            payload.pop(name, None)
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
            if self.path == "/jwks.json":
                issuer.jwks_requests.append(time.monotonic())  # every attempt, answered or not
            if issuer.delay > 0:
                issuer.unanswered += 1
                issuer.released.wait(issuer.delay)
                issuer.unanswered -= 1
            if issuer.down:
                self.close_connection = True
                return
            if self.path == "/.well-known/oauth-authorization-server":
                body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
            elif self.path == "/jwks.json":
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
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # gave up waiting
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        issuer.released.set()  # no handler thread outlives the issuer
        server.shutdown()
        server.server_close()
