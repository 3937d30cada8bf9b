"""An OpenID provider as far as discovery goes: the keys and tokens of tests/server/issuer.py's
issuer (its own RFC 8414 server runs beside, unused), but metadata only at
/.well-known/openid-configuration (RFC 8414's path answers 404, so a client has to fall back to
OIDC discovery), complete enough for an interactive client to sign in."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.server.issuer import Issuer, free_port, running_issuer


@contextmanager
def running_oidc_issuer() -> Iterator[Issuer]:
    with running_issuer() as keys:
        port = free_port()
        with _serving(dataclasses.replace(keys, url=f"http://127.0.0.1:{port}"), port) as issuer:
            yield issuer


@contextmanager
def _serving(issuer: Issuer, port: int) -> Iterator[Issuer]:
    configuration = {
        "issuer": issuer.url,
        "authorization_endpoint": f"{issuer.url}/authorize",
        "token_endpoint": f"{issuer.url}/token",
        "jwks_uri": f"{issuer.url}/jwks.json",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                self._json(configuration)
            elif self.path == "/jwks.json":
                self._json(issuer.jwks())
            else:
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()

        def _json(self, body: dict[str, Any]) -> None:
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
