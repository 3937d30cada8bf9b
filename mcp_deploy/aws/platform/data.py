"""The shared data tier, each part only when the platform asks for it: PostgreSQL on RDS and Redis
on ElastiCache, in the private subnets, encrypted, TLS-only, reachable only from the groups of
the servers that use them (servers add those rules)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from mcp_deploy.aws.platform.network import Network
from mcp_deploy.aws.secret import StoredSecret, generated, stored_secret
from mcp_deploy.aws.security import REDIS_PORT
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import PostgresSpec, RedisSpec, Size

# Named sizes to instance classes. Graviton throughout; "small" is the burstable dev size.
POSTGRES_CLASS: dict[Size, str] = {
    "small": "db.t4g.micro",
    "medium": "db.m7g.large",
    "large": "db.m7g.xlarge",
    "xlarge": "db.m7g.2xlarge",
}
REDIS_NODE: dict[Size, str] = {
    "small": "cache.t4g.micro",
    "medium": "cache.m7g.large",
    "large": "cache.m7g.xlarge",
    "xlarge": "cache.m7g.2xlarge",
}
ADMIN_USER = "mcpadmin"
# libpq's verify-full needs the RDS CA bundle inside each image; arbitrary images lack it, so the
# URLs require TLS (rds.force_ssl refuses anything else) without verifying the server's name.
SSL_MODE = "require"


@dataclass(frozen=True)
class Postgres:
    instance: aws.rds.Instance
    # postgresql://mcpadmin:...@host:5432/postgres: only the per-server database provisioning
    # step reads it.
    admin_url: StoredSecret
    storage_gb: int


@dataclass(frozen=True)
class Redis:
    group: aws.elasticache.ReplicationGroup
    auth_token: pulumi.Output[str]
    nodes: int

    def url(self) -> pulumi.Output[str]:
        """rediss://:<token>@<primary>:<port>/0, a secret."""
        return pulumi.Output.all(self.auth_token, self.group.primary_endpoint_address, self.group.port).apply(
            lambda parts: f"rediss://:{quote(str(parts[0]), safe='')}@{parts[1]}:{parts[2]}/0"
        )


def postgres(
    name: str,
    spec: PostgresSpec,
    net: Network,
    group: aws.ec2.SecurityGroup,
    production: bool,
    parent: pulumi.Resource,
) -> Postgres:
    child = pulumi.ResourceOptions(parent=parent)
    password = spec.password or generated(f"{name}-postgres-password", 32, parent)
    subnets = aws.rds.SubnetGroup(
        f"{name}-postgres",
        name=physical_name(name, "postgres", limit=255),
        subnet_ids=net.private_subnet_ids,
        opts=child,
    )
    parameters = aws.rds.ParameterGroup(
        f"{name}-postgres",
        name=physical_name(name, "postgres", str(spec.version), limit=255),
        family=f"postgres{spec.version}",
        description="mcp-deploy: TLS required for every connection",
        parameters=[
            aws.rds.ParameterGroupParameterArgs(
                name="rds.force_ssl", value="1", apply_method="pending-reboot"
            )
        ],
        opts=child,
    )
    identifier = physical_name(name, "postgres", limit=63)
    instance = aws.rds.Instance(
        f"{name}-postgres",
        identifier=identifier,
        engine="postgres",
        engine_version=str(spec.version),
        instance_class=POSTGRES_CLASS[spec.size],
        allocated_storage=spec.storage_gb,
        max_allocated_storage=spec.storage_gb * 2,  # storage autoscaling headroom
        storage_type="gp3",
        storage_encrypted=True,
        username=ADMIN_USER,
        password=password,
        db_subnet_group_name=subnets.name,
        parameter_group_name=parameters.name,
        vpc_security_group_ids=[group.id],
        publicly_accessible=False,
        multi_az=spec.high_availability,
        backup_retention_period=spec.backup_retention_days,
        deletion_protection=spec.deletion_protection,
        skip_final_snapshot=not spec.final_snapshot,
        final_snapshot_identifier=_final_snapshot(name, identifier, parent) if spec.final_snapshot else None,
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        # postgresVersion is a major version: changing it changes engine_version and the parameter
        # group's family together, and ModifyDBInstance refuses a new major version unless
        # AllowMajorVersionUpgrade is set. It permits no upgrade by itself: RDS upgrades only when
        # engine_version says so (with apply_immediately off, in the maintenance window).
        allow_major_version_upgrade=True,
        apply_immediately=False,
        opts=pulumi.ResourceOptions(parent=parent, protect=spec.deletion_protection),
    )
    admin_url = pulumi.Output.all(password, instance.address, instance.port).apply(
        lambda parts: (
            f"postgresql://{ADMIN_USER}:{quote(str(parts[0]), safe='')}@{parts[1]}:{parts[2]}"
            f"/postgres?sslmode={SSL_MODE}"
        )
    )
    admin = stored_secret(
        f"{name}-postgres-admin-url",
        (name, "postgres-admin-url"),
        "PostgreSQL admin URL: creates each server's database and role",
        admin_url,
        production,
        parent,
    )
    return Postgres(instance=instance, admin_url=admin, storage_gb=spec.storage_gb)


def _final_snapshot(name: str, identifier: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A snapshot name of this instance's own: a fixed one is taken after the first destroy, and
    the next destroy of a rebuilt stack fails on it. The suffix is new with every new instance."""
    suffix = random.RandomId(
        f"{name}-postgres-final-snapshot",
        byte_length=4,
        keepers={"identifier": identifier},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.concat(identifier, "-final-", suffix.hex)


def redis(
    name: str,
    spec: RedisSpec,
    net: Network,
    group: aws.ec2.SecurityGroup,
    parent: pulumi.Resource,
) -> Redis:
    child = pulumi.ResourceOptions(parent=parent)
    token = (
        pulumi.Output.secret(spec.auth_token)
        if spec.auth_token
        else generated(f"{name}-redis-auth-token", 32, parent)
    )
    subnets = aws.elasticache.SubnetGroup(
        f"{name}-redis",
        name=physical_name(name, "redis", limit=255),
        subnet_ids=net.private_subnet_ids,
        description="mcp-deploy Redis",
        opts=child,
    )
    nodes = 2 if spec.high_availability else 1
    group_resource = aws.elasticache.ReplicationGroup(
        f"{name}-redis",
        replication_group_id=physical_name(name, "redis", limit=40),
        description="mcp-deploy: shared Redis, a key prefix per server",
        engine="redis",
        engine_version="7.1",
        node_type=REDIS_NODE[spec.size],
        num_cache_clusters=nodes,
        automatic_failover_enabled=spec.high_availability,
        multi_az_enabled=spec.high_availability,
        port=REDIS_PORT,
        subnet_group_name=subnets.name,
        security_group_ids=[group.id],
        transit_encryption_enabled=True,
        at_rest_encryption_enabled=True,
        auth_token=token,
        snapshot_retention_limit=1 if spec.high_availability else 0,
        apply_immediately=True,
        opts=child,
    )
    return Redis(group=group_resource, auth_token=token, nodes=nodes)
