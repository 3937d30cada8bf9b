"""The one bridge from validated stack config to the Args the components take.

Components never read config; any program can build PlatformArgs and ServerArgs itself (see
examples/). Secret config values stay Pulumi secrets on the way through.
"""

from __future__ import annotations

from typing import Any

import pulumi

from mcp_deploy.config import StackConfig, secret_output
from mcp_deploy.config_servers import ServerConfig
from mcp_deploy.fargate import fargate_default_memory
from mcp_deploy.platform_args import PlatformArgs
from mcp_deploy.server_args import ServerArgs
from mcp_deploy.server_spec import DEFAULT_MEMORY


def platform_args(config: StackConfig, provider: dict[str, str] | None = None) -> PlatformArgs:
    """`provider`: the provider settings the target needs (see config.read_provider_settings)."""
    provider = provider or {}
    servers = config.servers.values()
    args = PlatformArgs(
        domain=config.domain,
        production=config.environment == "production",
        auth_issuer=config.auth_issuer,
        log_retention_days=config.log_retention_days,
        registry_keep_images=config.registry_keep_images,
        tracing_sample_ratio=_sample_ratio(config),
        backup={"schedule": config.backup_schedule, "retention_days": config.backup_retention_days},
        gateway={
            "min_replicas": config.gateway_min_replicas,
            "max_replicas": config.gateway_max_replicas,
            "cpu": config.gateway_cpu,
            "memory": config.gateway_memory,
            "allowed_origins": list(config.gateway_allowed_origins),
            "rate_limit_per_minute": config.gateway_rate_limit_per_minute,
            "edge_requests_per_minute": config.edge_requests_per_minute,
        },
        aws=_drop_none(
            availability_zones=config.aws_availability_zones,
            nat_gateway_per_az=config.aws_nat_gateway_per_az,
            vpc_cidr=config.aws_vpc_cidr,
            vpc_id=config.aws_vpc_id,
            public_subnet_ids=list(config.aws_public_subnet_ids),
            private_subnet_ids=list(config.aws_private_subnet_ids),
            hosted_zone_id=config.aws_hosted_zone_id,
            certificate_arn=config.aws_certificate_arn,
        ),
        k8s=_drop_none(
            namespace=config.k8s_namespace,
            registry=config.k8s_registry,
            entry=config.k8s_entry,
            gateway_class=config.k8s_gateway_class,
            ingress_class=config.k8s_ingress_class,
            entry_namespace=config.k8s_entry_namespace,
            tls_secret=config.k8s_tls_secret,
            cluster_issuer=config.k8s_cluster_issuer,
            acme_email=config.k8s_acme_email,
            storage_class=config.k8s_storage_class,
            install_cnpg=config.k8s_install_cnpg,
            prometheus_operator=config.k8s_prometheus_operator,
            prometheus_release=config.k8s_prometheus_release,
            prometheus_namespace=config.k8s_prometheus_namespace,
            otlp_endpoint=config.k8s_otlp_endpoint,
            backup_url=config.k8s_backup_url,
            backup_secret=config.k8s_backup_secret,
            backup_service_account_annotations=dict(
                item.split("=", 1) for item in config.k8s_backup_service_account_annotations
            ),
        ),
    )
    if config.auth_audience is not None:
        args["auth_audience"] = config.auth_audience
    if config.alert_email is not None:
        args["alert_email"] = config.alert_email
    if config.alert_webhook_url is not None:
        url = config.server_secret(config.alert_webhook_url).get_secret_value()
        args["alert_webhook_url"] = pulumi.Output.secret(url)
    if config.sentry_dsn is not None:
        dsn = config.server_secret(config.sentry_dsn).get_secret_value()
        args["sentry_dsn"] = pulumi.Output.secret(dsn)
    if "gcp:project" in provider:
        args["gcp"] = {
            "project": provider["gcp:project"],
            "region": provider["gcp:region"],
            "subnet_cidr": config.gcp_subnet_cidr,
            "armor_requests_per_minute": config.edge_requests_per_minute,
        }
    # The shared data tier exists only when a server asks for it (a reference server always does).
    if any(_uses(server, "postgres") for server in servers):
        args["postgres"] = _drop_none(
            version=config.postgres_version,
            size=config.postgres_size,
            storage_gb=config.postgres_storage_gb,
            high_availability=config.postgres_high_availability,
            backup_retention_days=config.postgres_backup_retention_days,
            deletion_protection=config.postgres_deletion_protection,
            final_snapshot=config.postgres_final_snapshot,
            password=secret_output(config.postgres_password),
            external_url=secret_output(config.external_postgres_url),
        )
    if any(_uses(server, "redis") for server in servers):
        args["redis"] = _drop_none(
            size=config.redis_size,
            high_availability=config.redis_high_availability,
            auth_token=secret_output(config.redis_auth_token),
            external_url=secret_output(config.external_redis_url),
        )
    return args


def server_args(config: StackConfig) -> dict[str, ServerArgs]:
    """Each `servers:` entry as ServerArgs, its secrets read from their stack keys as Pulumi secrets."""
    return {name: _server(config, server) for name, server in config.servers.items()}


def _server(config: StackConfig, server: ServerConfig) -> ServerArgs:
    given: dict[str, Any] = server.model_dump(
        exclude_none=True, exclude={"secrets", "repository_credentials"}
    )
    if config.target == "aws-ecs" and server.cpu is not None and server.memory is None:
        # Fargate takes only some memory sizes with each cpu, and not DEFAULT_MEMORY with 1024 units
        # or more: an entry that gives only cpu gets the smallest it takes (2048 MiB for 1024).
        given["memory"] = fargate_default_memory(server.cpu, preferred=DEFAULT_MEMORY)
    if server.secrets:
        given["secrets"] = {
            env: pulumi.Output.secret(config.server_secret(key).get_secret_value())
            for env, key in server.secrets.items()
        }
    if server.repository_credentials:
        value = config.server_secret(server.repository_credentials).get_secret_value()
        given["repository_credentials"] = pulumi.Output.secret(value)
    return ServerArgs(**given)


def _sample_ratio(config: StackConfig) -> float:
    """Unset: a tenth of traces in production (enough to follow a slow request without paying per
    span for all traffic), none in development."""
    if config.tracing_sample_ratio is not None:
        return config.tracing_sample_ratio
    return 0.1 if config.environment == "production" else 0.0


def _uses(server: ServerConfig, what: str) -> bool:
    """A reference server (build: server) uses Postgres and Redis unless its entry says otherwise."""
    return getattr(server, what) is not None or server.build == "server"


def _drop_none(**values: Any) -> Any:
    return {key: value for key, value in values.items() if value is not None}
