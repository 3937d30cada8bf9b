"""Secrets Manager entries for what the server must not see in plain environment variables:
the database URL, the Redis URL and the request-state key. Tasks get them by ARN (`secrets`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.data import DATABASE, DATABASE_USER, DataTier
from mcp_deploy.secret_values import SecretValues


@dataclass(frozen=True)
class ServerSecrets:
    database_url: aws.secretsmanager.Secret
    redis_url: aws.secretsmanager.Secret
    request_state_key: aws.secretsmanager.Secret

    def arns(self) -> list[pulumi.Output[str]]:
        return [self.database_url.arn, self.redis_url.arn, self.request_state_key.arn]


def server_secrets(
    name: str,
    values: SecretValues,
    redis_token: pulumi.Output[str],
    data: DataTier,
    production: bool,
    parent: pulumi.Resource,
) -> ServerSecrets:
    database_url = pulumi.Output.all(
        values.postgres_password, data.postgres.address, data.postgres.port
    ).apply(
        lambda parts: (
            f"postgresql://{DATABASE_USER}:{quote(str(parts[0]), safe='')}@{parts[1]}:{parts[2]}"
            f"/{DATABASE}?sslmode=require"
        )
    )
    redis_url = pulumi.Output.all(redis_token, data.redis.primary_endpoint_address, data.redis.port).apply(
        lambda parts: f"rediss://:{quote(str(parts[0]), safe='')}@{parts[1]}:{parts[2]}/0"
    )
    return ServerSecrets(
        database_url=_secret(
            name, "database-url", "PostgreSQL URL for the MCP server", database_url, production, parent
        ),
        redis_url=_secret(name, "redis-url", "Redis URL for the MCP server", redis_url, production, parent),
        request_state_key=_secret(
            name,
            "request-state-key",
            "Key replicas share to seal MCP request state",
            values.request_state_key,
            production,
            parent,
        ),
    )


def _secret(
    name: str,
    label: str,
    description: str,
    value: pulumi.Output[str],
    production: bool,
    parent: pulumi.Resource,
) -> aws.secretsmanager.Secret:
    secret = aws.secretsmanager.Secret(
        f"{name}-{label}",
        description=description,
        # Prod keeps a deleted secret recoverable for 30 days; dev deletes at once so a stack can
        # be rebuilt under the same names.
        recovery_window_in_days=30 if production else 0,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.secretsmanager.SecretVersion(
        f"{name}-{label}",
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=secret),
    )
    return secret
