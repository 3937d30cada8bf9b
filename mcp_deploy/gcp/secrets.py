"""Secret Manager secrets for the database URL, the Redis URL (with Memorystore's AUTH string)
and the request-state key. Only the service accounts that need one may read it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import GcpArgs
from mcp_deploy.gcp.data import DATABASE, DATABASE_USER, DataTier
from mcp_deploy.secret_values import SecretValues


@dataclass(frozen=True)
class ServerSecrets:
    database_url: gcp.secretmanager.Secret
    redis_url: gcp.secretmanager.Secret
    request_state_key: gcp.secretmanager.Secret


def server_secrets(
    name: str,
    args: GcpArgs,
    values: SecretValues,
    data: DataTier,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> ServerSecrets:
    database_url = pulumi.Output.all(values.postgres_password, data.postgres.private_ip_address).apply(
        lambda parts: (
            f"postgresql://{DATABASE_USER}:{quote(str(parts[0]), safe='')}@{parts[1]}:5432"
            f"/{DATABASE}?sslmode=require"
        )
    )
    # Memorystore generates the AUTH string itself; our generated token is not used here.
    redis_url = pulumi.Output.all(data.redis.auth_string, data.redis.host, data.redis.port).apply(
        lambda parts: f"rediss://:{quote(str(parts[0]), safe='')}@{parts[1]}:{parts[2]}/0"
    )
    return ServerSecrets(
        database_url=_secret(name, "database-url", args, database_url, apis, parent),
        redis_url=_secret(name, "redis-url", args, redis_url, apis, parent),
        request_state_key=_secret(name, "request-state-key", args, values.request_state_key, apis, parent),
    )


def _secret(
    name: str,
    label: str,
    args: GcpArgs,
    value: pulumi.Output[str],
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.secretmanager.Secret:
    secret = gcp.secretmanager.Secret(
        f"{name}-{label}",
        project=args.project,
        secret_id=f"{name}-{label}",
        replication=gcp.secretmanager.SecretReplicationArgs(
            user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                replicas=[gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(location=args.region)]
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    gcp.secretmanager.SecretVersion(
        f"{name}-{label}",
        secret=secret.id,
        secret_data=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=secret),
    )
    return secret


def grant_access(
    name: str, secret: gcp.secretmanager.Secret, member: pulumi.Input[str], parent: pulumi.Resource
) -> None:
    gcp.secretmanager.SecretIamMember(
        name,
        project=secret.project,
        secret_id=secret.secret_id,
        role="roles/secretmanager.secretAccessor",
        member=member,
        opts=pulumi.ResourceOptions(parent=parent),
    )
