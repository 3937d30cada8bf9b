"""What a server component takes: the server contract of DESIGN.md as typed, documented Args.

These are TypedDicts, not dataclasses, because Pulumi's component provider hands a multi-language
caller's inputs to the constructor as a dict, and its schema analyzer reads the field docstrings
below. No `from __future__ import annotations`, `Literal` or tuples here: the analyzer cannot
read them. Every field but `image`/`build` has a default, applied by `resolve_server`.
"""

from typing import TypedDict

import pulumi

# Where our reference server's build context lives, relative to the project root.
REFERENCE_BUILD = "server"


class HealthArgs(TypedDict, total=False):
    """HTTP paths the platform probes on the server's own port."""

    liveness: str
    """Path that answers 2xx while the process is alive (restart when it stops). Empty: a TCP check."""
    readiness: str
    """Path that answers 2xx while the server can take traffic. Empty: a TCP check."""


class PostgresUseArgs(TypedDict, total=False):
    """A database and a role of the server's own on the platform's shared Postgres instance."""

    url_env: str
    """Env var that receives the database URL, as a secret reference. Default DATABASE_URL."""
    backup: bool
    """Include the database in the platform's scheduled dumps. Default true."""


class RedisUseArgs(TypedDict, total=False):
    """Use of the platform's shared Redis, under a key prefix of the server's own."""

    url_env: str
    """Env var that receives the Redis URL, as a secret reference. Default REDIS_URL."""
    prefix_env: str
    """Env var that receives the key prefix `<server>:`. Default REDIS_KEY_PREFIX."""


class ReplicasArgs(TypedDict, total=False):
    """Autoscaling bounds."""

    min: int
    """Fewest replicas (0 lets Cloud Run scale to zero). Default 1."""
    max: int
    """Most replicas. Default 3."""
    target_cpu_percent: int
    """Average CPU utilisation autoscaling aims for. Default 60."""


class StdioArgs(TypedDict, total=False):
    """How the bridge runs a stdio server's processes (`transport: stdio`)."""

    pool: int
    """Initialized processes kept ready per replica. Default 2."""
    max_processes: int
    """Most processes per replica (with `sessions: sticky`, one per client session). Default 16."""
    idle_seconds: int
    """A sticky session's process ends after this long without a request. Default 300."""
    request_seconds: int
    """A request's longest run; past it the caller gets an error and the process is replaced. Default 60."""


class MetricsArgs(TypedDict, total=False):
    """Where the platform scrapes the server's Prometheus metrics (text format)."""

    enabled: bool
    """Scrape it. Default true when `metrics` is given; without `metrics`, on for `build: server` and
    stdio servers (our server and bridge serve /metrics), off for other images."""
    path: str
    """Path of the metrics endpoint. Default /metrics."""
    port: int
    """Port of the metrics endpoint. Default: the server's own port."""


class SloArgs(TypedDict, total=False):
    """The server's objectives over 30 days, as the gateway sees its route; burn-rate alerts follow."""

    availability: float
    """Percent of requests answered without a 5xx, above 90 and below 100. Default 99.5."""
    latency_p99_ms: int
    """99% of requests answer within this many ms: one of 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
    5000, 10000, 30000 (the gateway's latency buckets). Default 1000."""


class ServerArgs(TypedDict, total=False):
    """One MCP server: any image and its contract. Give `image` or `build` (or, with
    `transport: stdio`, `package`), exactly one."""

    image: str
    """A prebuilt image reference (registry/path:tag or @sha256:digest) the target can pull."""
    build: str
    """A build context relative to the project root; `server` is our reference server (mcp-notes)."""
    transport: str
    """`streamable-http` (the image serves MCP over HTTP) or `stdio` (the server speaks MCP on
    stdin/stdout: the platform runs it behind our bridge, which serves it over HTTP). Default
    streamable-http."""
    package: str
    """stdio only: a pinned package the platform installs into a bridge image at build time:
    `npm:<name>@<version>` or `pypi:<name>==<version>`. `args` are then the server's arguments."""
    stdio: StdioArgs
    """stdio only: the bridge's process pool and bounds."""
    port: int
    """Port the server listens on inside its container. Default 8080."""
    path: str
    """Path of the server's MCP endpoint. Default /mcp."""
    command: list[str]
    """Replaces the image's entrypoint. Default: the image's own. With `transport: stdio`, the
    stdio server's command inside `image` (an image built FROM our bridge image), or instead of
    the package's own."""
    args: list[str]
    """Replaces the image's arguments (CMD). Default: the image's own. With `transport: stdio`,
    the stdio server's arguments."""
    health: HealthArgs
    """Liveness and readiness paths."""
    metrics: MetricsArgs
    """Prometheus scraping of the server's own metrics endpoint."""
    env: dict[str, str]
    """Plain environment. Never a secret: use `secrets`."""
    secrets: dict[str, pulumi.Input[str]]
    """Env name -> secret value (a Pulumi secret). Stored in the target's secret manager and
    handed to the container by reference."""
    generated_secrets: list[str]
    """Env names whose values the platform generates (48 random characters) and stores like `secrets`."""
    postgres: PostgresUseArgs
    """Give it (even empty) for a database of the server's own."""
    redis: RedisUseArgs
    """Give it (even empty) to use the shared Redis."""
    slo: SloArgs
    """Availability and p99 latency objectives; the platform alerts when their budgets burn fast."""
    scopes: list[str]
    """OAuth scopes the server's tools require; the gateway publishes and enforces them."""
    sessions: str
    """`stateless` (any replica answers any request) or `sticky` (a client's requests go to one
    replica, for servers that keep Mcp-Session-Id state). Default stateless."""
    replicas: ReplicasArgs
    """Autoscaling bounds."""
    concurrency: int
    """Concurrent requests one replica takes before autoscaling adds another. Default 80."""
    cpu: int
    """CPU units per replica, 1024 = 1 vCPU. Default 512."""
    memory: int
    """Memory per replica in MiB. Default 1024; on aws-ecs give it with a `cpu` of 1024 or more
    (Fargate takes 1024 MiB only with 256 or 512 units)."""
    user: int
    """Numeric user id to run as. Default: the image's own user (must not be root on kubernetes)."""
    read_only_root_filesystem: bool
    """Mount the image read-only (a writable /tmp is provided). Default true."""
    image_pull_secret: str
    """kubernetes: name of an existing docker-registry Secret in the namespace to pull `image` with."""
    repository_credentials: pulumi.Input[str]
    """aws-ecs: registry credentials for `image`, as a secret JSON {"username": ..., "password": ...}."""
