"""Security groups: internet -> ALB on 443/80, ALB -> tasks on the server port, tasks -> Redis and
Postgres, the backup job -> Postgres. Nothing else reaches anything."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mcp_deploy.args import SERVER_PORT
from mcp_deploy.aws.network import Network

POSTGRES_PORT = 5432
REDIS_PORT = 6379


@dataclass(frozen=True)
class SecurityGroups:
    alb: aws.ec2.SecurityGroup
    tasks: aws.ec2.SecurityGroup
    backup: aws.ec2.SecurityGroup
    postgres: aws.ec2.SecurityGroup
    redis: aws.ec2.SecurityGroup


def security_groups(name: str, net: Network, parent: pulumi.Resource) -> SecurityGroups:
    child = pulumi.ResourceOptions(parent=parent)

    def group(role: str, description: str) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{name}-{role}",
            vpc_id=net.vpc_id,
            description=description,
            tags={"Name": f"{name}-{role}"},
            opts=child,
        )

    groups = SecurityGroups(
        alb=group("alb", "MCP load balancer: HTTPS and the HTTP redirect from anywhere"),
        tasks=group("tasks", "MCP server tasks: only from the load balancer"),
        backup=group("backup", "Scheduled pg_dump task"),
        postgres=group("postgres", "PostgreSQL: only from the server tasks and the backup task"),
        redis=group("redis", "Redis: only from the server tasks"),
    )
    anyone = (("v4", "0.0.0.0/0", None), ("v6", None, "::/0"))
    for port in (443, 80):
        for family, ipv4, ipv6 in anyone:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-in-{port}-{family}",
                security_group_id=groups.alb.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=ipv4,
                cidr_ipv6=ipv6,
                description=f"clients on {port}",
                opts=child,
            )
    _allow(name, "alb-to-tasks", groups.alb, groups.tasks, SERVER_PORT, child)
    _allow(name, "tasks-to-postgres", groups.tasks, groups.postgres, POSTGRES_PORT, child)
    _allow(name, "backup-to-postgres", groups.backup, groups.postgres, POSTGRES_PORT, child)
    _allow(name, "tasks-to-redis", groups.tasks, groups.redis, REDIS_PORT, child)
    # Tasks and the backup job reach AWS APIs, ECR, the OAuth issuer and S3 over HTTPS via NAT.
    for source in ("tasks", "backup"):
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-{source}-out-https",
            security_group_id=getattr(groups, source).id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="HTTPS to AWS APIs, ECR and the OAuth issuer",
            opts=child,
        )
    return groups


def _allow(
    name: str,
    label: str,
    source: aws.ec2.SecurityGroup,
    target: aws.ec2.SecurityGroup,
    port: int,
    child: pulumi.ResourceOptions,
) -> None:
    """Ingress on `target` from `source` and the matching egress on `source`: both sides explicit."""
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-{label}-in",
        security_group_id=target.id,
        referenced_security_group_id=source.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        opts=child,
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-{label}-out",
        security_group_id=source.id,
        referenced_security_group_id=target.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        opts=child,
    )
