"""Plain typed arguments that every target component takes.

Components never read config: a program (ours in `__main__.py`, or anyone else's) builds these
and hands them over. `from_config` is the one bridge from the validated stack config.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mcp_deploy.config import Size, StackConfig, secret_output


@dataclass(frozen=True)
class ServiceArgs:
    cpu: int  # CPU units, 1024 = 1 vCPU
    memory_mib: int
    min_replicas: int
    max_replicas: int
    target_cpu_percent: int
    concurrency: int
    log_retention_days: int


@dataclass(frozen=True)
class AuthArgs:
    issuer: str
    audience: str
    read_scope: str
    write_scope: str
    tenant_claim: str | None


@dataclass(frozen=True)
class PostgresArgs:
    version: int
    size: Size
    storage_gb: int
    high_availability: bool
    backup_retention_days: int
    deletion_protection: bool
    final_snapshot: bool


@dataclass(frozen=True)
class RedisArgs:
    size: Size
    high_availability: bool


@dataclass(frozen=True)
class BackupArgs:
    schedule: str  # 5-field cron, UTC
    retention_days: int


@dataclass(frozen=True)
class SecretArgs:
    """Secrets the stack config gives, as Pulumi secrets. None: the target generates one with
    pulumi-random. Either way the target stores it in its own secret manager."""

    postgres_password: pulumi.Output[str] | None
    redis_auth_token: pulumi.Output[str] | None
    request_state_key: pulumi.Output[str] | None


@dataclass(frozen=True)
class AwsArgs:
    """What only the aws-ecs target reads."""

    availability_zones: int
    nat_gateway_per_az: bool
    vpc_cidr: str
    vpc_id: str | None  # None: create a VPC
    public_subnet_ids: tuple[str, ...]
    private_subnet_ids: tuple[str, ...]
    hosted_zone_id: str | None
    certificate_arn: str | None  # None: issue one with ACM, validated in hosted_zone_id


@dataclass(frozen=True)
class GcpArgs:
    """What only the gcp-cloudrun target reads."""

    project: str
    region: str
    subnet_cidr: str
    armor_requests_per_minute: int


@dataclass(frozen=True)
class K8sArgs:
    """What only the kubernetes target reads."""

    namespace: str
    registry: str | None  # where to push the built image; None when `image` is prebuilt
    ingress_class: str
    ingress_namespace: str
    tls_secret: str | None  # None: cert-manager issues one
    cluster_issuer: str
    acme_email: str | None  # set: create the ClusterIssuer too
    storage_class: str | None
    install_cnpg: bool
    prometheus_operator: bool
    backup_url: str | None
    backup_secret: str | None
    backup_service_account_annotations: dict[str, str]
    external_postgres_url: pulumi.Output[str] | None
    external_redis_url: pulumi.Output[str] | None


@dataclass(frozen=True)
class McpServiceArgs:
    domain: str
    production: bool
    image: str | None  # a prebuilt reference, or None to build server/
    service: ServiceArgs
    auth: AuthArgs
    postgres: PostgresArgs
    redis: RedisArgs
    backup: BackupArgs
    alert_email: str | None
    secrets: SecretArgs
    registry_keep_images: int
    aws: AwsArgs
    gcp: GcpArgs | None  # None unless the target is gcp-cloudrun (it needs gcp:project and gcp:region)
    k8s: K8sArgs

    @property
    def mcp_url(self) -> str:
        return f"https://{self.domain}/mcp"

    def server_settings(self) -> dict[str, str]:
        """The server's plain (non-secret) environment, the same on every target; a target adds
        only what its platform needs (e.g. MCP_HOST where the image default is not used)."""
        settings = {
            "MCP_PUBLIC_URL": self.mcp_url,
            "AUTH_ISSUER": self.auth.issuer,
            "AUTH_AUDIENCE": self.auth.audience,
            "AUTH_READ_SCOPE": self.auth.read_scope,
            "AUTH_WRITE_SCOPE": self.auth.write_scope,
            "DRAIN_SECONDS": str(DRAIN_SECONDS),
            "DB_POOL_MAX": "10",
        }
        if self.auth.tenant_claim is not None:
            settings["AUTH_TENANT_CLAIM"] = self.auth.tenant_claim
        return settings


# The server's own drain bound (DRAIN_SECONDS); load balancers wait a little longer.
DRAIN_SECONDS = 20
SERVER_PORT = 8000


def from_config(config: StackConfig, provider: dict[str, str] | None = None) -> McpServiceArgs:
    """`provider`: the provider settings the target needs (see config.read_provider_settings)."""
    provider = provider or {}
    return McpServiceArgs(
        domain=config.domain,
        production=config.environment == "production",
        image=config.image,
        service=ServiceArgs(
            cpu=config.service_cpu,
            memory_mib=config.service_memory,
            min_replicas=config.min_replicas,
            max_replicas=config.max_replicas,
            target_cpu_percent=config.target_cpu_percent,
            concurrency=config.concurrency,
            log_retention_days=config.log_retention_days,
        ),
        auth=AuthArgs(
            issuer=config.auth_issuer,
            audience=config.audience,
            read_scope=config.auth_read_scope,
            write_scope=config.auth_write_scope,
            tenant_claim=config.auth_tenant_claim,
        ),
        postgres=PostgresArgs(
            version=config.postgres_version,
            size=config.postgres_size,
            storage_gb=config.postgres_storage_gb,
            high_availability=config.postgres_high_availability,
            backup_retention_days=config.postgres_backup_retention_days,
            deletion_protection=config.postgres_deletion_protection,
            final_snapshot=config.postgres_final_snapshot,
        ),
        redis=RedisArgs(size=config.redis_size, high_availability=config.redis_high_availability),
        backup=BackupArgs(schedule=config.backup_schedule, retention_days=config.backup_retention_days),
        alert_email=config.alert_email,
        registry_keep_images=config.registry_keep_images,
        aws=AwsArgs(
            availability_zones=config.aws_availability_zones,
            nat_gateway_per_az=config.aws_nat_gateway_per_az,
            vpc_cidr=config.aws_vpc_cidr,
            vpc_id=config.aws_vpc_id,
            public_subnet_ids=tuple(config.aws_public_subnet_ids),
            private_subnet_ids=tuple(config.aws_private_subnet_ids),
            hosted_zone_id=config.aws_hosted_zone_id,
            certificate_arn=config.aws_certificate_arn,
        ),
        gcp=GcpArgs(
            project=provider["gcp:project"],
            region=provider["gcp:region"],
            subnet_cidr=config.gcp_subnet_cidr,
            armor_requests_per_minute=config.gcp_armor_requests_per_minute,
        )
        if "gcp:project" in provider
        else None,
        k8s=K8sArgs(
            namespace=config.k8s_namespace,
            registry=config.k8s_registry,
            ingress_class=config.k8s_ingress_class,
            ingress_namespace=config.k8s_ingress_namespace,
            tls_secret=config.k8s_tls_secret,
            cluster_issuer=config.k8s_cluster_issuer,
            acme_email=config.k8s_acme_email,
            storage_class=config.k8s_storage_class,
            install_cnpg=config.k8s_install_cnpg,
            prometheus_operator=config.k8s_prometheus_operator,
            backup_url=config.k8s_backup_url,
            backup_secret=config.k8s_backup_secret,
            backup_service_account_annotations=dict(
                item.split("=", 1) for item in config.k8s_backup_service_account_annotations
            ),
            external_postgres_url=secret_output(config.external_postgres_url),
            external_redis_url=secret_output(config.external_redis_url),
        ),
        secrets=SecretArgs(
            postgres_password=secret_output(config.postgres_password),
            redis_auth_token=secret_output(config.redis_auth_token),
            request_state_key=secret_output(config.request_state_key),
        ),
    )
