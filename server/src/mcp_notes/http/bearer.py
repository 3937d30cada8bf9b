"""The OAuth 2.1 resource-server check in front of the MCP transport.

It does what the SDK's Starlette stack does around /mcp (AuthenticationMiddleware with
BearerAuthBackend, AuthContextMiddleware, RequireAuthMiddleware, and the router between them)
in one pass, because that stack is a large share of each request's cost. The answers are the
SDK's: the verified token in scope["user"] and in the SDK's auth context (`get_access_token()`),
401 with `WWW-Authenticate: Bearer error="invalid_token", ..., resource_metadata="..."`.

The SDK also compares the token's resource with the server URL on every request; Verifier
only accepts tokens whose audience is that URL, so that check is already made.
"""

from __future__ import annotations

import json
import time

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import TokenVerifier
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_notes.http.request_info import RequestInfo, current

ISSUER_RETRY_SECONDS = 1  # the JWKS is retried every second while there are no keys


class Bearer:
    def __init__(self, app: ASGIApp, verifier: TokenVerifier, resource_metadata_url: str) -> None:
        self.app = app
        self.verifier = verifier
        challenge = (
            'Bearer error="invalid_token", error_description="Authentication required", '
            f'resource_metadata="{resource_metadata_url}"'
        )
        self._challenge = challenge.encode()
        self._body = json.dumps(
            {"error": "invalid_token", "error_description": "Authentication required"}
        ).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = await self._user(scope)
        if user is None:
            info = current()
            if info is not None and info.auth_failure == "jwks_unavailable":
                await self._unavailable(send, info)
            else:
                await self._refuse(send)
            return
        scope["user"] = user
        scope["auth"] = AuthCredentials(user.scopes)
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    async def _user(self, scope: Scope) -> AuthenticatedUser | None:
        header = next((value for key, value in scope["headers"] if key == b"authorization"), None)
        if header is None or header[:7].lower() != b"bearer ":
            return None
        token = header[7:].decode("latin-1")
        access = await self.verifier.verify_token(token)
        if access is None or (access.expires_at is not None and access.expires_at < int(time.time())):
            return None
        return AuthenticatedUser(access)

    async def _unavailable(self, send: Send, info: RequestInfo) -> None:
        """No signing keys at all (the issuer has not answered since start): the token may be
        fine, so a 401 would send clients to re-authenticate for nothing. 503 + Retry-After."""
        info.unavailable, info.retry_after_seconds = "issuer", ISSUER_RETRY_SECONDS
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": -32603,
                    "message": "The issuer's signing keys are unavailable; retry shortly",
                    "data": {"retryable": True, "retry_after_seconds": ISSUER_RETRY_SECONDS},
                },
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _refuse(self, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._body)).encode()),
            (b"www-authenticate", self._challenge),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": self._body})
