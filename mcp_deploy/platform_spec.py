"""`PlatformArgs` with every default applied: what the target components read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from mcp_deploy.platform_args import PlatformArgs

Size = Literal["small", "medium", "large", "xlarge"]
SIZES: tuple[Size, ...] = ("small", "medium", "large", "xlarge")


@dataclass(frozen=True)
class PostgresSpec:
    version: int = 16
    size: Size = "small"
    storage_gb: int = 20
    high_availability: bool = False
    backup_retention_days: int = 7
    deletion_protection: bool = False
    final_snapshot: bool = False
    password: pulumi.Input[str] | None = None  # None: generated
    external_url: pulumi.Input[str] | None = None  # kubernetes only


@dataclass(frozen=True)
class RedisSpec:
    size: Size = "small"
    high_availability: bool = False
    auth_token: pulumi.Input[str] | None = None  # None: generated (Memorystore makes its own)
    external_url: pulumi.Input[str] | None = None  # kubernetes only


@dataclass(frozen=True)
class BackupSpec:
    schedule: str = "0 3 * * *"  # 5-field cron, UTC
    retention_days: int = 30


@dataclass(frozen=True)
class AwsSpec:
    availability_zones: int = 2
    nat_gateway_per_az: bool = False
    vpc_cidr: str = "10.0.0.0/16"
    vpc_id: str | None = None  # None: create a VPC
    public_subnet_ids: tuple[str, ...] = ()
    private_subnet_ids: tuple[str, ...] = ()
    hosted_zone_id: str | None = None
    certificate_arn: str | None = None  # None: issue one with ACM, validated in hosted_zone_id


@dataclass(frozen=True)
class GcpSpec:
    project: str = ""
    region: str = ""
    subnet_cidr: str = "10.10.0.0/20"
    armor_requests_per_minute: int = 1200


@dataclass(frozen=True)
class K8sSpec:
    namespace: str | None = None  # None: <stack>-<platform name>
    registry: str | None = None
    entry: Literal["gateway", "ingress"] = "gateway"
    gateway_class: str | None = None
    ingress_class: str | None = None
    entry_namespace: str | None = None
    tls_secret: str | None = None
    cluster_issuer: str = "letsencrypt"
    acme_email: str | None = None
    storage_class: str | None = None
    install_cnpg: bool = False
    prometheus_operator: bool = False
    prometheus_release: str = "kube-prometheus-stack"  # "": no `release` label
    prometheus_namespace: str = "monitoring"  # where scrapes come from: the NetworkPolicies admit it
    otlp_endpoint: str | None = None  # traces go here when tracing is on
    backup_url: str | None = None
    backup_secret: str | None = None
    backup_service_account_annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewaySpec:
    min_replicas: int = 2
    max_replicas: int = 6
    cpu: int = 512
    memory: int = 1024
    allowed_origins: tuple[str, ...] = ()
    rate_limit_per_minute: int = 600
    edge_requests_per_minute: int = 1200
    port: int = 8080  # the gateway image's own port (gateway/Dockerfile)


@dataclass(frozen=True)
class PlatformSpec:
    domain: str
    auth_issuer: str
    production: bool = False
    auth_audience: str | None = None
    log_retention_days: int = 30
    alert_email: str | None = None
    alert_webhook_url: pulumi.Input[str] | None = None  # a Pulumi secret
    sentry_dsn: pulumi.Input[str] | None = None  # a Pulumi secret
    registry_keep_images: int = 20
    tracing_sample_ratio: float = 0.0  # 0: tracing off
    postgres: PostgresSpec | None = None
    redis: RedisSpec | None = None
    backup: BackupSpec = BackupSpec()
    gateway: GatewaySpec = GatewaySpec()
    aws: AwsSpec = AwsSpec()
    gcp: GcpSpec = GcpSpec()
    k8s: K8sSpec = K8sSpec()


class PlatformArgsError(ValueError):
    """Args a program gave directly (not through stack config) that cannot work."""


def resolve_platform(args: PlatformArgs) -> PlatformSpec:
    if not args.get("domain") or not args.get("auth_issuer"):
        raise PlatformArgsError("platform: domain and auth_issuer are required")
    given: dict[str, Any] = dict(args)
    nested = {
        "postgres": PostgresSpec,
        "redis": RedisSpec,
        "backup": BackupSpec,
        "gateway": GatewaySpec,
        "aws": AwsSpec,
        "gcp": GcpSpec,
        "k8s": K8sSpec,
    }
    for key, spec in nested.items():
        if key in given:
            values = dict(given[key])
            for tuple_key in ("public_subnet_ids", "private_subnet_ids", "allowed_origins"):
                if tuple_key in values:
                    values[tuple_key] = tuple(values[tuple_key])
            given[key] = spec(**values)
    return PlatformSpec(**given)
