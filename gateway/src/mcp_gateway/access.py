"""Central auth per route: the client's bearer token, validated by the reference server's
TokenValidator (JWKS cache, claim checks, verified-token cache) against the route's audience,
then the route's scopes. Refusals carry the RFC 6750 / RFC 9728 challenge for the route."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_gateway.routes import Route
from mcp_gateway.settings import GatewaySettings
from mcp_notes.auth.jwks import JwksCache
from mcp_notes.auth.tokens import Principal, TokenRejected, TokenValidator


@dataclass(frozen=True)
class Refusal:
    status: int  # 401, 403 or 503
    reason: str  # for metrics and the log line
    message: str
    challenge: str = ""  # WWW-Authenticate


class RouteAccess:
    """One route's checks. Each route has its own validator (its own audience and verified-token
    cache); all share one JwksCache, so the issuer's keys are fetched once."""

    def __init__(self, route: Route, settings: GatewaySettings, jwks: JwksCache) -> None:
        self.route = route
        self.audience = settings.audience_for(route)
        self.metadata_url = f"{settings.public}{route.metadata_path}"
        self._validator = TokenValidator(
            jwks,
            issuer=settings.auth_issuer or "",
            audience=self.audience,
            algorithms=settings.auth_algorithms,
            leeway_seconds=settings.auth_leeway_seconds,
            tenant_claim=settings.auth_tenant_claim,
        )
        self._scope_text = " ".join(route.scopes)

    async def authenticate(self, authorization: bytes | None) -> Principal | Refusal:
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return self._unauthorized("missing_token", "Authentication required")
        try:
            return await self._validator.validate(authorization[7:].decode("latin-1").strip())
        except TokenRejected as rejected:
            if rejected.reason == "jwks_unavailable":
                return Refusal(
                    503, rejected.reason, "The issuer's signing keys are unavailable; retry shortly"
                )
            return self._unauthorized(rejected.reason, str(rejected), error="invalid_token")

    def authorize(self, principal: Principal, tool: str) -> Refusal | None:
        """The route needs one of its scopes (when it names any); a tool with scopes of its own
        needs all of them. One challenge names every scope needed."""
        if self.route.scopes and not principal.scopes.intersection(self.route.scopes):
            return self._insufficient(self.route.scopes)
        needed = self.route.tool_scopes.get(tool, ()) if tool else ()
        if needed and not principal.scopes.issuperset(needed):
            return self._insufficient(needed)
        return None

    def _unauthorized(self, reason: str, description: str, *, error: str = "") -> Refusal:
        parts = [f'error="{error}"'] if error else []
        parts.append(f'error_description="{_quoted(description)}"')
        if self._scope_text:
            parts.append(f'scope="{self._scope_text}"')
        parts.append(f'resource_metadata="{self.metadata_url}"')
        return Refusal(401, reason, description, "Bearer " + ", ".join(parts))

    def _insufficient(self, scopes: tuple[str, ...]) -> Refusal:
        text = " ".join(scopes)
        message = f"This needs the scope(s): {text}"
        challenge = (
            f'Bearer error="insufficient_scope", scope="{text}", '
            f'error_description="{_quoted(message)}", resource_metadata="{self.metadata_url}"'
        )
        return Refusal(403, "insufficient_scope", message, challenge)


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")
