"""`target: aws-ecs`: the MCP server on ECS Fargate behind an HTTPS ALB, with RDS PostgreSQL,
ElastiCache Redis, Secrets Manager, S3 backups on a schedule and CloudWatch alarms."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.args import McpServiceArgs
from mcp_deploy.aws.alarms import alarms
from mcp_deploy.aws.backups import backups
from mcp_deploy.aws.compute import compute, ecr_repository_arn
from mcp_deploy.aws.data import data_tier
from mcp_deploy.aws.edge import edge
from mcp_deploy.aws.network import network
from mcp_deploy.aws.registry import registry
from mcp_deploy.aws.secrets import server_secrets
from mcp_deploy.aws.security import security_groups
from mcp_deploy.image import McpImage
from mcp_deploy.secret_values import redis_auth_token, secret_values


class EcsMcpService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    mcp_endpoint: pulumi.Output[str]
    image: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    alarm_topic: pulumi.Output[str]
    load_balancer_dns: pulumi.Output[str]
    restore_command: pulumi.Output[str]

    def __init__(self, name: str, args: McpServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mcp-deploy:aws:McpService", name, None, opts)
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region

        if args.image is None:
            access, repository_arn = registry(name, args.registry_keep_images, args.production, self)
        else:
            access, repository_arn = None, ecr_repository_arn(args.image)
        image = McpImage(f"{name}-image", args.image, access, pulumi.ResourceOptions(parent=self))

        net = network(name, args.aws, self)
        groups = security_groups(name, net, self)
        values = secret_values(name, args.secrets, self)
        redis_token = redis_auth_token(name, args.secrets, self)
        data = data_tier(
            name,
            args.postgres,
            args.redis,
            net,
            groups,
            values.postgres_password,
            redis_token,
            self,
        )
        secrets = server_secrets(name, values, redis_token, data, args.production, self)
        front = edge(name, args.domain, args.aws, net, groups, args.production, self)
        runtime = compute(name, args, image.ref, net, groups, secrets, front, region, repository_arn, self)
        stored = backups(
            name,
            args.backup,
            image.ref,
            net,
            groups,
            secrets,
            runtime,
            cpu=256,
            memory_mib=512,
            region=region,
            production=args.production,
            parent=self,
        )
        topic = alarms(name, args, front, runtime, data, self)

        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.mcp_endpoint = pulumi.Output.from_input(args.mcp_url)
        self.image = image.ref
        self.database = data.postgres.identifier
        self.cache = data.redis.id
        self.backup_bucket = stored.bucket.bucket
        self.alarm_topic = topic.arn
        self.load_balancer_dns = front.load_balancer.dns_name
        self.restore_command = stored.restore_command
        self.register_outputs({name: getattr(self, name) for name in type(self).__annotations__})
