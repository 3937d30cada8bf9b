"""PostgreSQL on RDS and Redis on ElastiCache, in the private subnets, encrypted, reachable only
from the server's security groups."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mcp_deploy.args import PostgresArgs, RedisArgs, Size
from mcp_deploy.aws.network import Network
from mcp_deploy.aws.security import REDIS_PORT, SecurityGroups

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
DATABASE = "mcp"
DATABASE_USER = "mcp"


@dataclass(frozen=True)
class DataTier:
    postgres: aws.rds.Instance
    redis: aws.elasticache.ReplicationGroup
    redis_nodes: int


def data_tier(
    name: str,
    postgres: PostgresArgs,
    redis: RedisArgs,
    net: Network,
    groups: SecurityGroups,
    password: pulumi.Output[str],
    auth_token: pulumi.Output[str],
    parent: pulumi.Resource,
) -> DataTier:
    child = pulumi.ResourceOptions(parent=parent)
    subnets = aws.rds.SubnetGroup(f"{name}-postgres", subnet_ids=net.private_subnet_ids, opts=child)
    parameters = aws.rds.ParameterGroup(
        f"{name}-postgres",
        family=f"postgres{postgres.version}",
        description="mcp-deploy: TLS required for every connection",
        parameters=[
            aws.rds.ParameterGroupParameterArgs(
                name="rds.force_ssl", value="1", apply_method="pending-reboot"
            )
        ],
        opts=child,
    )
    database = aws.rds.Instance(
        f"{name}-postgres",
        engine="postgres",
        engine_version=str(postgres.version),
        instance_class=POSTGRES_CLASS[postgres.size],
        allocated_storage=postgres.storage_gb,
        max_allocated_storage=postgres.storage_gb * 2,  # storage autoscaling headroom
        storage_type="gp3",
        storage_encrypted=True,
        db_name=DATABASE,
        username=DATABASE_USER,
        password=password,
        db_subnet_group_name=subnets.name,
        parameter_group_name=parameters.name,
        vpc_security_group_ids=[groups.postgres.id],
        publicly_accessible=False,
        multi_az=postgres.high_availability,
        backup_retention_period=postgres.backup_retention_days,
        deletion_protection=postgres.deletion_protection,
        skip_final_snapshot=not postgres.final_snapshot,
        final_snapshot_identifier=f"{name}-postgres-final" if postgres.final_snapshot else None,
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        apply_immediately=False,
        opts=pulumi.ResourceOptions(parent=parent, protect=postgres.deletion_protection),
    )
    cache_subnets = aws.elasticache.SubnetGroup(
        f"{name}-redis", subnet_ids=net.private_subnet_ids, description="mcp-deploy Redis", opts=child
    )
    nodes = 2 if redis.high_availability else 1
    cache = aws.elasticache.ReplicationGroup(
        f"{name}-redis",
        description="mcp-deploy: rate limits and search cache shared by all replicas",
        engine="redis",
        engine_version="7.1",
        node_type=REDIS_NODE[redis.size],
        num_cache_clusters=nodes,
        automatic_failover_enabled=redis.high_availability,
        multi_az_enabled=redis.high_availability,
        port=REDIS_PORT,
        subnet_group_name=cache_subnets.name,
        security_group_ids=[groups.redis.id],
        transit_encryption_enabled=True,
        at_rest_encryption_enabled=True,
        auth_token=auth_token,
        snapshot_retention_limit=1 if redis.high_availability else 0,
        apply_immediately=True,
        opts=child,
    )
    return DataTier(postgres=database, redis=cache, redis_nodes=nodes)
