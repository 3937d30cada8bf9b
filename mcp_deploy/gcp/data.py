"""Cloud SQL for PostgreSQL (private IP only, SSL required) and Memorystore for Redis (AUTH and
in-transit encryption), both on the private services range of our VPC."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import GcpArgs, PostgresArgs, RedisArgs, Size
from mcp_deploy.gcp.network import Network

# Named sizes. "small" is a shared-core dev size (no SLA); the rest are dedicated.
SQL_TIER: dict[Size, str] = {
    "small": "db-g1-small",
    "medium": "db-custom-2-7680",
    "large": "db-custom-4-15360",
    "xlarge": "db-custom-8-30720",
}
REDIS_GB: dict[Size, int] = {"small": 1, "medium": 5, "large": 13, "xlarge": 26}
DATABASE = "mcp"
DATABASE_USER = "mcp"


@dataclass(frozen=True)
class DataTier:
    postgres: gcp.sql.DatabaseInstance
    redis: gcp.redis.Instance


def data_tier(
    name: str,
    args: GcpArgs,
    postgres: PostgresArgs,
    redis: RedisArgs,
    net: Network,
    password: pulumi.Output[str],
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> DataTier:
    after_network = pulumi.ResourceOptions(parent=parent, depends_on=[*apis, net.peering])
    settings = gcp.sql.DatabaseInstanceSettingsArgs(
        tier=SQL_TIER[postgres.size],
        edition="ENTERPRISE",
        availability_type="REGIONAL" if postgres.high_availability else "ZONAL",
        disk_type="PD_SSD",
        disk_size=postgres.storage_gb,
        disk_autoresize=True,
        deletion_protection_enabled=postgres.deletion_protection,
        ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
            ipv4_enabled=False, private_network=net.vpc.id, ssl_mode="ENCRYPTED_ONLY"
        ),
        backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
            enabled=True,
            start_time="02:00",
            point_in_time_recovery_enabled=True,
            transaction_log_retention_days=min(postgres.backup_retention_days, 7),
            backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                retained_backups=postgres.backup_retention_days, retention_unit="COUNT"
            ),
        ),
        final_backup_config=gcp.sql.DatabaseInstanceSettingsFinalBackupConfigArgs(
            enabled=postgres.final_snapshot, retention_days=30 if postgres.final_snapshot else None
        ),
        user_labels={"app": "mcp-deploy"},
    )
    database = gcp.sql.DatabaseInstance(
        f"{name}-postgres",
        project=args.project,
        region=args.region,
        database_version=f"POSTGRES_{postgres.version}",
        settings=settings,
        deletion_protection=postgres.deletion_protection,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[*apis, net.peering], protect=postgres.deletion_protection
        ),
    )
    gcp.sql.Database(
        f"{name}-postgres",
        project=args.project,
        instance=database.name,
        name=DATABASE,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    gcp.sql.User(
        f"{name}-postgres",
        project=args.project,
        instance=database.name,
        name=DATABASE_USER,
        password=password,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    cache = gcp.redis.Instance(
        f"{name}-redis",
        project=args.project,
        region=args.region,
        tier="STANDARD_HA" if redis.high_availability else "BASIC",
        memory_size_gb=REDIS_GB[redis.size],
        redis_version="REDIS_7_2",
        connect_mode="PRIVATE_SERVICE_ACCESS",
        authorized_network=net.vpc.id,
        auth_enabled=True,
        transit_encryption_mode="SERVER_AUTHENTICATION",
        display_name="mcp-deploy rate limits and search cache",
        opts=after_network,
    )
    return DataTier(postgres=database, redis=cache)


def redis_ca_bundle(cache: gcp.redis.Instance) -> pulumi.Output[str]:
    """Every CA Memorystore lists, as one PEM bundle: during a server CA rotation it lists the
    old and the new, and the server must trust both or it loses Redis at the switch."""
    return cache.server_ca_certs.apply(lambda certs: "".join(c.cert.strip() + "\n" for c in certs if c.cert))
