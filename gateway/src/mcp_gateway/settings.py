"""The gateway's settings, from the environment only. A bad environment stops the process at
start with one message naming every bad variable (exit status 2).

Redis and serving settings keep the reference server's names and meanings, so
mcp_notes.shared.redis_link and mcp_notes.serving take this object as they take the server's."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from mcp_gateway.routes import Route, RouteError, parse_routes
from mcp_notes.settings import (
    RedisSettings,
    ServingSettings,
    SettingsError,
    asymmetric_algorithms,
    invalid_variables,
    is_loopback,
)

CsvList = Annotated[list[str], NoDecode]
Routes = Annotated[dict[str, Route], NoDecode]


class GatewaySettings(RedisSettings, ServingSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=False)

    host: str = Field(default="127.0.0.1", validation_alias="GATEWAY_HOST")
    port: int = Field(default=8080, ge=1, le=65535, validation_alias="GATEWAY_PORT")
    public_url: str | None = Field(default=None, validation_alias="GATEWAY_PUBLIC_URL")
    routes: Routes = Field(default_factory=dict, validation_alias="GATEWAY_ROUTES")
    allowed_origins: CsvList = Field(default_factory=list, validation_alias="GATEWAY_ALLOWED_ORIGINS")

    auth_issuer: str | None = Field(default=None, validation_alias="AUTH_ISSUER")
    auth_audience: str | None = Field(default=None, validation_alias="AUTH_AUDIENCE")
    auth_jwks_url: str | None = Field(default=None, validation_alias="AUTH_JWKS_URL")
    auth_tenant_claim: str | None = Field(default=None, validation_alias="AUTH_TENANT_CLAIM")
    auth_algorithms: CsvList = Field(
        default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"], validation_alias="AUTH_ALGORITHMS"
    )
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300, validation_alias="AUTH_LEEWAY_SECONDS")
    auth_jwks_ttl_seconds: int = Field(default=600, ge=1, le=86_400, validation_alias="AUTH_JWKS_TTL_SECONDS")

    # The key upstream tokens are signed with (PEM, EC P-256), shared by every replica.
    signing_key: SecretStr | None = Field(default=None, validation_alias="GATEWAY_SIGNING_KEY")
    issuer: str | None = Field(default=None, validation_alias="GATEWAY_ISSUER")
    upstream_token_seconds: int = Field(
        default=300, ge=30, le=3600, validation_alias="GATEWAY_UPSTREAM_TOKEN_SECONDS"
    )

    upstream_connect_timeout: float = Field(
        default=5.0, gt=0, le=60, validation_alias="UPSTREAM_CONNECT_TIMEOUT_SECONDS"
    )
    # Until the upstream's response headers arrive; past it 504.
    upstream_read_timeout: float = Field(
        default=60.0, gt=0, le=3600, validation_alias="UPSTREAM_READ_TIMEOUT_SECONDS"
    )
    # Silence allowed inside a streamed response (SSE); matches the idle timeout of the LB in front.
    upstream_idle_timeout: float = Field(
        default=900.0, gt=0, le=7200, validation_alias="UPSTREAM_IDLE_TIMEOUT_SECONDS"
    )
    upstream_pool_size: int = Field(default=200, ge=1, le=10_000, validation_alias="UPSTREAM_POOL_SIZE")
    session_ttl_seconds: int = Field(
        default=3600, ge=10, le=86_400 * 7, validation_alias="SESSION_TTL_SECONDS"
    )

    # The shared Redis link's settings (mcp_notes.settings.RedisSettings), under our own prefix.
    redis_key_prefix: str = Field(
        default="gateway:", pattern=r"^[A-Za-z0-9:._-]{1,64}$", validation_alias="REDIS_KEY_PREFIX"
    )

    rate_limit_per_minute: int = Field(
        default=600, ge=1, le=1_000_000, validation_alias="RATE_LIMIT_PER_MINUTE"
    )
    max_request_bytes: int = Field(
        default=1_048_576, ge=4096, le=67_108_864, validation_alias="MAX_REQUEST_BYTES"
    )

    @field_validator("allowed_origins", "auth_algorithms", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("routes", mode="before")
    @classmethod
    def _routes(cls, value: Any) -> Any:
        if isinstance(value, (str, dict)) and not (isinstance(value, dict) and _parsed(value)):
            try:
                return parse_routes(value)
            except RouteError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("public_url", "auth_issuer", "auth_audience", "auth_jwks_url", "issuer")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("must use https (http is allowed only for localhost)")
        return value.rstrip("/")

    @field_validator("auth_algorithms")
    @classmethod
    def _asymmetric(cls, value: list[str]) -> list[str]:
        return asymmetric_algorithms(value)

    @model_validator(mode="after")
    def _consistent(self) -> GatewaySettings:
        local = is_loopback(self.host)
        if not local and not self.public_url:
            raise ValueError(f"GATEWAY_PUBLIC_URL: required when listening on {self.host}")
        if not local and not self.auth_issuer:
            raise ValueError(
                f"AUTH_ISSUER: required when listening on {self.host} (auth may be off only on localhost)"
            )
        if not local and self.auth_issuer and self.signing_key is None:
            raise ValueError(
                "GATEWAY_SIGNING_KEY: required off localhost (every replica must sign with one key)"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        return self.auth_issuer is not None

    @property
    def public(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def upstream_issuer(self) -> str:
        return self.issuer or f"{self.public}/gateway"

    def audience_for(self, route: Route) -> str:
        return route.audience or self.auth_audience or route.public_url(self.public)


def _parsed(value: dict[str, Any]) -> bool:
    return all(isinstance(v, Route) for v in value.values())


def load_settings(env: dict[str, str] | None = None) -> GatewaySettings:
    try:
        return GatewaySettings() if env is None else GatewaySettings.model_validate(env)
    except ValidationError as error:
        raise SettingsError("invalid environment:\n" + "\n".join(invalid_variables(error))) from None
