"""Security groups and the rules between them: every rule names both ends, and each server adds
its own (load balancer -> its port, it -> Postgres/Redis) on a group of its own."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.names import physical_name

POSTGRES_PORT = 5432
REDIS_PORT = 6379


def security_group(
    name: str,
    name_parts: tuple[str, ...],
    vpc_id: pulumi.Input[str],
    description: str,
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    group_name = physical_name(*name_parts, limit=255)
    return aws.ec2.SecurityGroup(
        name,
        name=group_name,
        vpc_id=vpc_id,
        description=description,
        tags={"Name": group_name},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def allow(
    name: str,
    source: aws.ec2.SecurityGroup,
    target: aws.ec2.SecurityGroup,
    port: int,
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    """Ingress on `target` from `source` and the matching egress on `source`: both sides explicit."""
    child = pulumi.ResourceOptions(parent=parent)
    ingress = aws.vpc.SecurityGroupIngressRule(
        f"{name}-in",
        security_group_id=target.id,
        referenced_security_group_id=source.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        opts=child,
    )
    egress = aws.vpc.SecurityGroupEgressRule(
        f"{name}-out",
        security_group_id=source.id,
        referenced_security_group_id=target.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        opts=child,
    )
    return [ingress, egress]


def https_out(name: str, group: aws.ec2.SecurityGroup, parent: pulumi.Resource) -> pulumi.Resource:
    """Tasks reach AWS APIs, ECR, the OAuth issuer and S3 over HTTPS via NAT."""
    return aws.vpc.SecurityGroupEgressRule(
        f"{name}-out-https",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv4="0.0.0.0/0",
        description="HTTPS to AWS APIs, ECR and the OAuth issuer",
        opts=pulumi.ResourceOptions(parent=parent),
    )
