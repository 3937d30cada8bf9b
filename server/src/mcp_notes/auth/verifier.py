"""The SDK's TokenVerifier over our TokenValidator."""

from __future__ import annotations

import logging

from mcp.server.auth.provider import AccessToken

from mcp_notes.auth.tokens import TokenRejected, TokenValidator
from mcp_notes.http.request_info import current

log = logging.getLogger(__name__)


class Verifier:
    """The SDK's TokenVerifier: None for any bad token (raising would become a 500)."""

    def __init__(self, validator: TokenValidator, resource: str) -> None:
        self._validator = validator
        self._resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = await self._validator.validate(token)
        except TokenRejected as rejected:
            _note_auth_failure(rejected.reason)
            return None
        except Exception:
            log.exception("token validation failed unexpectedly")
            _note_auth_failure("error")
            return None
        return AccessToken(
            token=token,
            client_id=principal.client_id or principal.subject,
            scopes=sorted(principal.scopes),
            expires_at=principal.expires_at,
            resource=self._resource,  # validated as the token's audience
            subject=principal.subject,
            claims={"iss": self._validator.issuer, "tenant": principal.tenant},
        )


def _note_auth_failure(reason: str) -> None:
    info = current()
    if info is not None:
        info.auth_failure = reason
