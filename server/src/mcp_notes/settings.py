"""Settings from the environment. A bad environment stops the process at start with one message
that names every bad variable; nothing half-starts."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    RedisDsn,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CsvList = Annotated[list[str], NoDecode]


class SettingsError(Exception):
    """The environment is unusable; the message lists every problem."""


class RedisSettings(BaseSettings):
    """The Redis link's settings (shared.redis_link), with the same names wherever it is used: the
    notes server and the gateway both mix this in."""

    redis_url: RedisDsn | None = Field(default=None, validation_alias="REDIS_URL")
    # PEM of the CA that signed the Redis server's certificate, for rediss:// to a managed Redis
    # with its own CA (Memorystore); unset trusts the system store (ElastiCache).
    redis_ca_cert: str | None = Field(default=None, validation_alias="REDIS_CA_CERT")
    # Deployments sharing one Redis keep apart by prefix; replicas of one deployment share it.
    redis_key_prefix: str = Field(
        default="mcp-notes:", pattern=r"^[A-Za-z0-9:._-]{1,64}$", validation_alias="REDIS_KEY_PREFIX"
    )
    # Redis only saves work (limits stay local, the cache is bypassed when it is away), so no
    # request waits on it for long: past this a Redis operation fails and Redis counts as down.
    redis_timeout: float = Field(default=0.25, ge=0.01, le=5, validation_alias="REDIS_TIMEOUT_SECONDS")
    # Connections per replica; past them a Redis operation waits this long for one, then skips.
    redis_pool_size: int = Field(default=50, ge=1, le=1000, validation_alias="REDIS_POOL_SIZE")
    redis_pool_timeout: float = Field(default=0.1, ge=0, le=5, validation_alias="REDIS_POOL_TIMEOUT_SECONDS")
    # How often each replica exchanges rate-limit counts with Redis: the others learn of what
    # it admitted at most this late.
    redis_sync_seconds: float = Field(default=0.1, ge=0.01, le=5, validation_alias="REDIS_SYNC_SECONDS")

    @field_validator("redis_ca_cert")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if value is not None and "-----BEGIN CERTIFICATE-----" not in value:
            raise ValueError("must be a PEM certificate (-----BEGIN CERTIFICATE----- ...)")
        return value


class ServingSettings(BaseSettings):
    """uvicorn and drain settings (serving.py), shared like RedisSettings."""

    drain_seconds: int = Field(default=20, ge=1, le=300, validation_alias="DRAIN_SECONDS")
    # After SIGTERM, keep serving (with /ready at 503) this long before closing the listener,
    # so a load balancer that learns of the stop from readiness moves traffic away first.
    shutdown_delay_seconds: float = Field(default=0, ge=0, le=120, validation_alias="SHUTDOWN_DELAY_SECONDS")
    # Longer than every load balancer's idle timeout in front of us (ALB 900 s as we configure
    # it, GCLB 600 s, ingress-nginx 60 s), so the proxy, not us, closes idle connections: else
    # it reuses one we just closed and answers 502.
    keepalive_seconds: int = Field(default=920, ge=1, le=4000, validation_alias="HTTP_KEEPALIVE_SECONDS")
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, validation_alias="HTTP_HEADER_TIMEOUT_SECONDS"
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, validation_alias="HTTP_BODY_TIMEOUT_SECONDS"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="LOG_LEVEL"
    )


ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def asymmetric_algorithms(value: list[str]) -> list[str]:
    """AUTH_ALGORITHMS: a symmetric algorithm or `none` would let anyone mint tokens."""
    bad = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
    if bad or not value:
        raise ValueError(
            f"only asymmetric algorithms ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}); got {bad}"
        )
    return value


class Settings(RedisSettings, ServingSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=False)

    host: str = Field(default="127.0.0.1", validation_alias="MCP_HOST")
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="MCP_PORT")
    public_url: str | None = Field(default=None, validation_alias="MCP_PUBLIC_URL")
    allowed_hosts: CsvList = Field(default_factory=list, validation_alias="MCP_ALLOWED_HOSTS")
    allowed_origins: CsvList = Field(default_factory=list, validation_alias="MCP_ALLOWED_ORIGINS")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    sqlite_path: Path = Field(default=Path("mcp-notes.db"), validation_alias="MCP_SQLITE_PATH")
    db_pool_min: int = Field(default=1, ge=0, le=100, validation_alias="DB_POOL_MIN")
    db_pool_max: int = Field(default=10, ge=1, le=200, validation_alias="DB_POOL_MAX")
    db_connect_timeout: float = Field(default=5.0, gt=0, le=60, validation_alias="DB_CONNECT_TIMEOUT_SECONDS")
    db_statement_timeout: float = Field(
        default=10.0, gt=0, le=300, validation_alias="DB_STATEMENT_TIMEOUT_SECONDS"
    )
    auth_issuer: str | None = Field(default=None, validation_alias="AUTH_ISSUER")
    auth_audience: str | None = Field(default=None, validation_alias="AUTH_AUDIENCE")
    # Behind the gateway, on a private network, the JWKS may be plain http on any host (the
    # gateway's own address); everywhere else an issuer's keys must come over https.
    auth_jwks_allow_http: bool = Field(default=False, validation_alias="AUTH_JWKS_ALLOW_HTTP")
    auth_jwks_url: str | None = Field(default=None, validation_alias="AUTH_JWKS_URL")
    auth_read_scope: str = Field(default="notes:read", validation_alias="AUTH_READ_SCOPE")
    auth_write_scope: str = Field(default="notes:write", validation_alias="AUTH_WRITE_SCOPE")
    auth_tenant_claim: str | None = Field(default=None, validation_alias="AUTH_TENANT_CLAIM")
    auth_algorithms: CsvList = Field(
        default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"],
        validation_alias="AUTH_ALGORITHMS",
    )
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300, validation_alias="AUTH_LEEWAY_SECONDS")
    # How long fetched signing keys are used before a background refresh replaces them.
    auth_jwks_ttl_seconds: int = Field(default=600, ge=1, le=86_400, validation_alias="AUTH_JWKS_TTL_SECONDS")

    request_state_key: SecretStr | None = Field(default=None, validation_alias="MCP_REQUEST_STATE_KEY")
    rate_limit_per_minute: int = Field(
        default=120, ge=1, le=100_000, validation_alias="RATE_LIMIT_PER_MINUTE"
    )
    search_cache_seconds: int = Field(default=60, ge=0, le=3600, validation_alias="SEARCH_CACHE_SECONDS")
    note_max_bytes: int = Field(default=65_536, ge=1024, le=1_048_576, validation_alias="NOTE_MAX_BYTES")
    max_request_bytes: int = Field(
        default=1_048_576, ge=4096, le=16_777_216, validation_alias="MAX_REQUEST_BYTES"
    )
    # MCP requests in flight per replica; past it a request waits up to QUEUE_SECONDS, then 503.
    max_concurrent_requests: int = Field(
        default=100, ge=1, le=10_000, validation_alias="MAX_CONCURRENT_REQUESTS"
    )
    queue_seconds: float = Field(default=2.0, ge=0, le=60, validation_alias="QUEUE_SECONDS")

    @field_validator("allowed_hosts", "allowed_origins", "auth_algorithms", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _plain_postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"postgres", "postgresql"} or not parts.hostname or not parts.path.strip("/"):
            raise ValueError("must be a postgresql://user:password@host:port/database URL")
        return value

    @field_validator("public_url", "auth_issuer", "auth_jwks_url", "auth_audience")
    @classmethod
    def _absolute_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        http_anywhere = info.field_name == "auth_jwks_url" and info.data.get("auth_jwks_allow_http") is True
        if parts.scheme == "http" and not is_loopback(parts.hostname) and not http_anywhere:
            hint = " or set AUTH_JWKS_ALLOW_HTTP=true" if info.field_name == "auth_jwks_url" else ""
            raise ValueError(f"must use https (http is allowed only for localhost{hint})")
        return value

    @field_validator("auth_algorithms")
    @classmethod
    def _no_symmetric_or_none(cls, value: list[str]) -> list[str]:
        return asymmetric_algorithms(value)

    @field_validator("request_state_key")
    @classmethod
    def _state_keys_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # The SDK derives AES-256-GCM keys from these and refuses shorter ones.
        keys = value.get_secret_value().split(",") if value is not None else []
        if any(len(key.encode()) < 32 for key in keys):
            raise ValueError("each comma-separated key must be at least 32 bytes (newest first)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("DB_POOL_MIN: must not exceed DB_POOL_MAX")
        return self

    def serving_problems(self) -> list[str]:
        """What `serve` needs beyond what `migrate` needs."""
        return serving_problems(
            self.host, self.public_url, self.auth_issuer, self.audience, self.request_state_key is not None
        )

    @property
    def auth_enabled(self) -> bool:
        return self.auth_issuer is not None

    @property
    def mcp_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}/mcp"

    @property
    def audience(self) -> str | None:
        """RFC 8707: the token must be meant for this server's public MCP URL."""
        return self.auth_audience or self.public_url

    @property
    def hosts(self) -> list[str]:
        """Host headers the transport accepts (the SDK answers 421 to any other)."""
        if self.allowed_hosts:
            return self.allowed_hosts
        netloc = urlsplit(self.mcp_url).netloc
        return [netloc, f"127.0.0.1:{self.port}", f"localhost:{self.port}"]

    @property
    def origins(self) -> list[str]:
        if self.allowed_origins:
            return self.allowed_origins
        parts = urlsplit(self.mcp_url)
        return [f"{parts.scheme}://{parts.netloc}"]


def serving_problems(
    host: str, public_url: str | None, auth_issuer: str | None, audience: str | None, has_state_key: bool
) -> list[str]:
    local = is_loopback(host)
    problems: list[str] = []
    if not local and not public_url:
        problems.append(f"MCP_PUBLIC_URL: required when listening on {host} (not localhost)")
    if not auth_issuer and not local:
        problems.append(f"AUTH_ISSUER: required when listening on {host} (auth may be off only on localhost)")
    if auth_issuer and not audience:
        problems.append("AUTH_AUDIENCE: required with AUTH_ISSUER (or set MCP_PUBLIC_URL)")
    if not has_state_key and not local:
        problems.append(
            f"MCP_REQUEST_STATE_KEY: required when listening on {host} "
            "(replicas must share it for multi-round-trip requests)"
        )
    return problems


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def invalid_variables(error: ValidationError) -> list[str]:
    """One indented line per problem, naming its variable; the server, the gateway and the bridge
    all report a bad environment this way."""
    lines: list[str] = []
    for detail in error.errors(include_url=False):
        message = str(detail["msg"]).removeprefix("Value error, ")
        if detail["loc"]:  # one variable
            lines.append(f"  {detail['loc'][0]}: {message}")
        else:  # a cross-variable check, already named
            lines.append(f"  {message}")
    return lines


def load_settings(env: dict[str, str] | None = None, *, serving: bool = True) -> Settings:
    """Settings from `env` (default: the process environment), or one SettingsError.
    `serving=False` for the one-shot commands, which need no public URL or issuer."""
    try:
        settings = Settings() if env is None else Settings.model_validate(env)
    except ValidationError as error:
        lines = invalid_variables(error)
        if serving:  # what serve needs besides, read from the raw values: all problems at once
            raw = env if env is not None else dict(os.environ)
            lines += [
                f"  {problem}"
                for problem in serving_problems(
                    raw.get("MCP_HOST", "127.0.0.1"),
                    raw.get("MCP_PUBLIC_URL"),
                    raw.get("AUTH_ISSUER"),
                    raw.get("AUTH_AUDIENCE") or raw.get("MCP_PUBLIC_URL"),
                    bool(raw.get("MCP_REQUEST_STATE_KEY")),
                )
                if problem.split(":")[0] not in {line.strip().split(":")[0] for line in lines}
            ]
        raise SettingsError("invalid environment:\n" + "\n".join(lines)) from None
    problems = settings.serving_problems() if serving else []
    if problems:
        raise SettingsError("invalid environment:\n" + "\n".join(f"  {p}" for p in problems))
    return settings
