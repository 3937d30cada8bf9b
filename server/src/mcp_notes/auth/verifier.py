"""The SDK's TokenVerifier over our TokenValidator."""

from __future__ import annotations

import logging

from mcp.server.auth.provider import AccessToken

from mcp_notes.auth.tokens import Principal, TokenRejected, TokenValidator
from mcp_notes.http.request_info import current

log = logging.getLogger(__name__)
BUILT_CACHE_SIZE = 10_000


class Verifier:
    """The SDK's TokenVerifier: None for any bad token (raising would become a 500)."""

    def __init__(self, validator: TokenValidator, resource: str) -> None:
        self._validator = validator
        self._resource = resource
        # The validator hands back the same Principal while its token stays cached; building
        # the SDK's AccessToken (a pydantic model) again for it would cost more than the lookup.
        self._built: dict[int, tuple[Principal, AccessToken]] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = await self._validator.validate(token)
            built = self._built.get(id(principal))
            if built is not None and built[0] is principal:
                return built[1]
            access = self._access_token(token, principal)
            if len(self._built) >= BUILT_CACHE_SIZE:
                self._built.clear()
            self._built[id(principal)] = (principal, access)
            return access
        except TokenRejected as rejected:
            _note_auth_failure(rejected.reason)
            return None
        except Exception:  # a bug, not bad input: tokens.py turns every bad token into TokenRejected
            log.exception("token validation failed unexpectedly")
            _note_auth_failure("error")
            return None

    def _access_token(self, token: str, principal: Principal) -> AccessToken:
        return AccessToken(
            token=token,
            client_id=principal.client_id or principal.subject,  # never an owner: see tools.owner()
            scopes=sorted(principal.scopes),
            # The SDK checks expires_at against the clock again, without leeway
            # (BearerAuthBackend.authenticate), so it gets the end of our leeway.
            expires_at=principal.expires_at + self._validator.leeway_seconds,
            resource=self._resource,  # validated as the token's audience
            subject=principal.subject,
            claims={"iss": self._validator.issuer, "tenant": principal.tenant},
        )


def _note_auth_failure(reason: str) -> None:
    info = current()
    if info is not None:
        info.auth_failure = reason
