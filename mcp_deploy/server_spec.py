"""`ServerArgs` with every default applied: what the target components read.

Defaults are generic (port 8080, the image's own command, TCP health checks). Only an entry with
`build: server` gets our reference server's contract (port 8000, `serve`, /health and /ready, a
database, Redis, `notes:*` scopes, UID 10001); anything the entry gives still wins.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi

from mcp_deploy.server_args import REFERENCE_BUILD, ServerArgs
from mcp_deploy.slo import Slo, slo_problems
from mcp_deploy.stdio_package import package_problem

# cpu units and MiB a replica gets when its args do not say. On aws-ecs, from_config gives an entry
# with only `cpu` a memory size Fargate takes with it instead (fargate.fargate_default_memory).
DEFAULT_CPU = 512
DEFAULT_MEMORY = 1024

# The server drains for this long on SIGTERM (our DRAIN_SECONDS); platforms wait a little longer.
DRAIN_SECONDS = 20

# Names end up in DNS labels, k8s object names and cloud ids; see names.py for the length checks.
SERVER_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$")
# Names the platform uses for its own resources (<stack>-<platform>-backup, -gateway, ...): a server
# with one of them would ask for the same physical names.
RESERVED_NAMES = frozenset(
    {
        "alb",
        "alarms",
        "backup",
        "backups",
        "bridge",
        "cluster",
        "gateway",
        "platform",
        "postgres",
        "redis",
        "restore",
    }
)
PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")
# What `env` values may refer to; the platform fills them in per server.
PLACEHOLDERS = ("publicUrl", "authIssuer", "authAudience", "serverName")

REFERENCE_DEFAULTS: dict[str, Any] = {
    "port": 8000,
    "args": ["serve"],
    "health": {"liveness": "/health", "readiness": "/ready"},
    "env": {
        "MCP_HOST": "0.0.0.0",
        "MCP_PORT": "8000",
        "MCP_PUBLIC_URL": "${publicUrl}",
        # Only the gateway reaches a server, by a private name (Service Connect, run.app, svc DNS).
        "MCP_ALLOWED_HOSTS": "*",
        "AUTH_ISSUER": "${authIssuer}",
        "AUTH_AUDIENCE": "${authAudience}",
        "DRAIN_SECONDS": str(DRAIN_SECONDS),
        "DB_POOL_MAX": "10",
    },
    "generated_secrets": ["MCP_REQUEST_STATE_KEY"],
    "postgres": {},
    "redis": {},
    "scopes": ["notes:read", "notes:write"],
    "user": 10001,
}


# A stdio server runs behind our bridge (bridge/), which serves it over streamable HTTP on 8080 and
# runs as the bridge image's non-root user.
STDIO_DEFAULTS: dict[str, Any] = {
    "port": 8080,
    "health": {"liveness": "/health", "readiness": "/ready"},
    "user": 10001,
}
STDIO_POOL_DEFAULTS = {"pool": 2, "max_processes": 16, "idle_seconds": 300, "request_seconds": 60}


@dataclass(frozen=True)
class MetricsUse:
    """Where the platform scrapes the server's Prometheus metrics."""

    path: str = "/metrics"
    port: int = 8080


@dataclass(frozen=True)
class PostgresUse:
    url_env: str = "DATABASE_URL"
    backup: bool = True


@dataclass(frozen=True)
class RedisUse:
    url_env: str = "REDIS_URL"
    prefix_env: str = "REDIS_KEY_PREFIX"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    image: str | None
    build: str | None
    port: int = 8080
    path: str = "/mcp"
    command: list[str] | None = None
    args: list[str] | None = None
    liveness: str | None = None
    readiness: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    generated_secrets: tuple[str, ...] = ()
    postgres: PostgresUse | None = None
    redis: RedisUse | None = None
    scopes: tuple[str, ...] = ()
    sticky: bool = False
    min_replicas: int = 1
    max_replicas: int = 3
    target_cpu_percent: int = 60
    concurrency: int = 80
    cpu: int = DEFAULT_CPU
    memory: int = DEFAULT_MEMORY
    user: int | None = None
    read_only_root_filesystem: bool = True
    image_pull_secret: str | None = None
    repository_credentials: pulumi.Input[str] | None = None
    transport: str = "streamable-http"
    package: str | None = None  # stdio: the pinned package built into the server's bridge image
    metrics: MetricsUse | None = None  # None: not scraped
    slo: Slo = field(default_factory=Slo)

    @property
    def is_reference(self) -> bool:
        return self.build == REFERENCE_BUILD

    @property
    def is_stdio(self) -> bool:
        return self.transport == "stdio"

    @property
    def route_prefix(self) -> str:
        """Public path prefix on the platform's load balancer: /<name>."""
        return f"/{self.name}"

    @property
    def metadata_path(self) -> str:
        """RFC 9728 §3.1 metadata path for the public URL https://<domain>/<name><path>."""
        return f"/.well-known/oauth-protected-resource/{self.name}{self.path}"

    @property
    def secret_env_names(self) -> list[str]:
        """Every env var handed over by reference, in a stable order."""
        names = [*self.secrets, *self.generated_secrets]
        if self.postgres is not None:
            names.append(self.postgres.url_env)
        if self.redis is not None:
            names.append(self.redis.url_env)
        return sorted(names)

    def public_url(self, domain: str) -> str:
        return f"https://{domain}/{self.name}{self.path}"

    def plain_env(self, domain: str, auth_issuer: str, auth_audience: str | None) -> dict[str, str]:
        """`env` with placeholders filled in, plus the Redis key prefix; never a secret."""
        values = {
            "publicUrl": self.public_url(domain),
            "authIssuer": auth_issuer,
            "authAudience": auth_audience or self.public_url(domain),
            "serverName": self.name,
        }
        env = {key: PLACEHOLDER.sub(lambda m: values[m.group(1)], value) for key, value in self.env.items()}
        if self.redis is not None:
            env[self.redis.prefix_env] = f"{self.name}:"
        return dict(sorted(env.items()))


class ServerArgsError(ValueError):
    """Args a program gave directly (not through stack config) that cannot work."""


def resolve_server(name: str, args: ServerArgs) -> ServerSpec:
    """Apply the defaults; refuse what no target could deploy, naming the server."""
    if not SERVER_NAME.match(name):
        raise ServerArgsError(
            f"server {name!r}: a name of 1-20 lowercase letters, digits and '-', starting with a letter"
        )
    if name in RESERVED_NAMES:
        raise ServerArgsError(
            f"server {name!r}: the platform uses that name; reserved: {', '.join(sorted(RESERVED_NAMES))}"
        )
    given: dict[str, Any] = dict(args)
    if given.get("transport", "streamable-http") == "stdio":
        merged = _stdio(name, given)
    else:
        _check_source(name, given)
        merged = {**REFERENCE_DEFAULTS, **given} if given.get("build") == REFERENCE_BUILD else given
        if merged.get("build") == REFERENCE_BUILD:
            merged["env"] = {**REFERENCE_DEFAULTS["env"], **given.get("env", {})}
    metrics = _metrics(merged.pop("metrics", None), merged)
    health = merged.pop("health", {}) or {}
    replicas = merged.pop("replicas", {}) or {}
    postgres = merged.pop("postgres", None)
    redis = merged.pop("redis", None)
    spec = ServerSpec(
        name=name,
        image=merged.pop("image", None),
        build=merged.pop("build", None),
        liveness=health.get("liveness") or None,
        readiness=health.get("readiness") or None,
        postgres=None if postgres is None else PostgresUse(**postgres),
        redis=None if redis is None else RedisUse(**redis),
        min_replicas=replicas.get("min", 1),
        max_replicas=replicas.get("max", 3),
        target_cpu_percent=replicas.get("target_cpu_percent", 60),
        sticky=merged.pop("sessions", "stateless") == "sticky",
        generated_secrets=tuple(merged.pop("generated_secrets", ())),
        scopes=tuple(merged.pop("scopes", ())),
        metrics=metrics,
        slo=Slo(**(merged.pop("slo", None) or {})),
        **merged,
    )
    _check(spec)
    return spec


def _metrics(given: dict[str, Any] | None, merged: dict[str, Any]) -> MetricsUse | None:
    """Scraped by default only where we know /metrics exists: our server and our bridge. Another
    image may serve nothing there, and a scrape that always fails is noise, so it opts in."""
    known = merged.get("build") == REFERENCE_BUILD or merged.get("transport") == "stdio"
    if given is None:
        given = {} if known else {"enabled": False}
    if not given.get("enabled", True):
        return None
    return MetricsUse(path=given.get("path", "/metrics"), port=given.get("port", merged.get("port", 8080)))


def _check_source(name: str, given: dict[str, Any]) -> None:
    if given.get("transport", "streamable-http") != "streamable-http":
        raise ServerArgsError(f"server {name!r}: transport is streamable-http or stdio")
    if "package" in given or "stdio" in given:
        raise ServerArgsError(f"server {name!r}: package and stdio are for transport: stdio")
    if ("image" in given) == ("build" in given):
        raise ServerArgsError(f"server {name!r}: give exactly one of image or build")


def _stdio(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """A stdio entry as the HTTP server the platform deploys: our bridge, running the package (or
    `command` inside a bridge-based `image`), configured through BRIDGE_* env vars."""
    if "build" in given:
        raise ServerArgsError(f"server {name!r}: a stdio server comes from package or image, not build")
    if ("package" in given) == ("image" in given):
        raise ServerArgsError(f"server {name!r}: a stdio server needs exactly one of package or image")
    if "image" in given and not given.get("command"):
        raise ServerArgsError(
            f"server {name!r}: a stdio image needs command (the stdio server's command inside it)"
        )
    problem = package_problem(given["package"]) if "package" in given else None
    if problem is not None:
        raise ServerArgsError(f"server {name!r}: package {problem}")
    pool = {**STDIO_POOL_DEFAULTS, **given.get("stdio", {})}
    bridge_env = {
        "BRIDGE_NAME": "${serverName}",
        "BRIDGE_SESSIONS": given.get("sessions", "stateless"),
        "BRIDGE_ARGS": json.dumps(given.get("args", [])),
        "BRIDGE_POOL_SIZE": str(pool["pool"]),
        "BRIDGE_MAX_PROCESSES": str(pool["max_processes"]),
        "BRIDGE_IDLE_SECONDS": str(pool["idle_seconds"]),
        "BRIDGE_REQUEST_SECONDS": str(pool["request_seconds"]),
        "DRAIN_SECONDS": str(DRAIN_SECONDS),
    }
    if given.get("command"):
        bridge_env["BRIDGE_COMMAND"] = json.dumps(given["command"])
    clashes = sorted(key for key in given.get("env", {}) if key in bridge_env)
    if clashes:
        raise ServerArgsError(f"server {name!r}: env sets {', '.join(clashes)}, which the bridge takes")
    merged = {key: value for key, value in given.items() if key not in ("command", "args", "stdio")}
    return {**STDIO_DEFAULTS, **merged, "env": {**given.get("env", {}), **bridge_env}}


def _check(spec: ServerSpec) -> None:
    problems: list[str] = []
    if not 1 <= spec.port <= 65535:
        problems.append(f"port {spec.port} is not 1-65535")
    if spec.metrics is not None and not 1 <= spec.metrics.port <= 65535:
        problems.append(f"metrics.port {spec.metrics.port} is not 1-65535")
    problems += slo_problems(spec.slo.availability, spec.slo.latency_p99_ms)
    if spec.min_replicas > spec.max_replicas:
        problems.append(f"replicas.min {spec.min_replicas} is above replicas.max {spec.max_replicas}")
    for value in spec.env.values():
        for placeholder in PLACEHOLDER.findall(value):
            if placeholder not in PLACEHOLDERS:
                problems.append(f"env uses ${{{placeholder}}}; known: {', '.join(PLACEHOLDERS)}")
    taken = [*spec.env, *spec.secret_env_names]
    clashes = sorted({env for env in taken if taken.count(env) > 1})
    if clashes:
        problems.append(f"env vars given twice (plain, secret, database or Redis): {', '.join(clashes)}")
    if problems:
        raise ServerArgsError(f"server {spec.name!r}: " + "; ".join(problems))


def with_platform_secrets(spec: ServerSpec, sentry_dsn: pulumi.Input[str] | None) -> ServerSpec:
    """SENTRY_DSN for the servers whose code reports to Sentry (ours and the bridge), unless the
    entry brings its own; stored and handed over like the server's other secrets."""
    if sentry_dsn is None or not (spec.is_reference or spec.is_stdio) or "SENTRY_DSN" in spec.env:
        return spec
    if "SENTRY_DSN" in spec.secrets:
        return spec
    return replace(spec, secrets={**spec.secrets, "SENTRY_DSN": sentry_dsn})
