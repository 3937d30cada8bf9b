"""The shared data tier on the private services range of our VPC: Cloud SQL for PostgreSQL
(private IP only, TLS only) when the platform has `postgres`, Memorystore for Redis (AUTH and
in-transit encryption) when it has `redis`. Databases and roles are each server's own."""

from __future__ import annotations

from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.platform.network import Network
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import GcpSpec, PostgresSpec, RedisSpec, Size

# Named sizes. "small" is a shared-core dev size (no SLA); the rest are dedicated.
SQL_TIER: dict[Size, str] = {
    "small": "db-g1-small",
    "medium": "db-custom-2-7680",
    "large": "db-custom-4-15360",
    "xlarge": "db-custom-8-30720",
}
REDIS_GB: dict[Size, int] = {"small": 1, "medium": 5, "large": 13, "xlarge": 26}
# Memorystore instance ids are at most 40 characters.
REDIS_ID_LIMIT = 40
SQL_INSTANCE_LIMIT = 98
# Point-in-time recovery logs: 1-7 days on Enterprise edition (35 only on Enterprise Plus).
MAX_LOG_DAYS = 7


def backup_retention(days: int) -> tuple[int, int]:
    """(retained backups, transaction-log days) for `days` of backups. Cloud SQL refuses log
    retention that is not below the backups retained ("backup retention should be > transaction
    log retention"), so keep at least two backups and logs for at most one day less."""
    retained = max(days, 2)
    return retained, min(MAX_LOG_DAYS, retained - 1)


def postgres_instance(
    name: str,
    google: GcpSpec,
    spec: PostgresSpec,
    net: Network,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.sql.DatabaseInstance:
    retained, log_days = backup_retention(spec.backup_retention_days)
    settings = gcp.sql.DatabaseInstanceSettingsArgs(
        tier=SQL_TIER[spec.size],
        edition="ENTERPRISE",
        availability_type="REGIONAL" if spec.high_availability else "ZONAL",
        disk_type="PD_SSD",
        disk_size=spec.storage_gb,
        disk_autoresize=True,
        deletion_protection_enabled=spec.deletion_protection,
        ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
            ipv4_enabled=False, private_network=net.vpc.id, ssl_mode="ENCRYPTED_ONLY"
        ),
        backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
            enabled=True,
            start_time="02:00",
            point_in_time_recovery_enabled=True,
            transaction_log_retention_days=log_days,
            backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                retained_backups=retained, retention_unit="COUNT"
            ),
        ),
        final_backup_config=gcp.sql.DatabaseInstanceSettingsFinalBackupConfigArgs(
            enabled=spec.final_snapshot, retention_days=30 if spec.final_snapshot else None
        ),
        user_labels={"app": "mcp-deploy"},
    )
    return gcp.sql.DatabaseInstance(
        f"{name}-postgres",
        project=google.project,
        region=google.region,
        # A deleted instance's name stays taken for up to a week: a replacement needs a new stack
        # or component name (nothing here forces one but the major version).
        name=physical_name(name, "postgres", limit=SQL_INSTANCE_LIMIT),
        database_version=f"POSTGRES_{spec.version}",
        settings=settings,
        deletion_protection=spec.deletion_protection,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[*apis, net.peering], protect=spec.deletion_protection
        ),
    )


def redis_instance(
    name: str,
    google: GcpSpec,
    spec: RedisSpec,
    net: Network,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.redis.Instance:
    return gcp.redis.Instance(
        f"{name}-redis",
        project=google.project,
        region=google.region,
        name=physical_name(name, "redis", limit=REDIS_ID_LIMIT),
        tier="STANDARD_HA" if spec.high_availability else "BASIC",
        memory_size_gb=REDIS_GB[spec.size],
        redis_version="REDIS_7_2",
        connect_mode="PRIVATE_SERVICE_ACCESS",
        authorized_network=net.vpc.id,
        # Memorystore makes its own AUTH string; spec.auth_token has no place here.
        auth_enabled=True,
        transit_encryption_mode="SERVER_AUTHENTICATION",
        display_name="mcp-deploy shared Redis",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*apis, net.peering]),
    )


def redis_ca_bundle(cache: gcp.redis.Instance) -> pulumi.Output[str]:
    """Every CA Memorystore lists, as one PEM bundle: during a server CA rotation it lists the
    old and the new, and a client must trust both or it loses Redis at the switch."""
    return cache.server_ca_certs.apply(lambda certs: "".join(c.cert.strip() + "\n" for c in certs if c.cert))


def redis_url(cache: gcp.redis.Instance) -> pulumi.Output[str]:
    """Memorystore's own AUTH string, TLS (rediss), on its private IP."""
    url = pulumi.Output.all(cache.auth_string, cache.host, cache.port).apply(
        lambda parts: f"rediss://:{quote(str(parts[0]), safe='')}@{parts[1]}:{parts[2]}/0"
    )
    return pulumi.Output.secret(url)
