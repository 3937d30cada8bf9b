"""Secrets in Secret Manager, a server's or the gateway's: one secret per env var (given,
generated, database URL, Redis URL, signing key), a version holding the value, and a grant that
lets only the workload's own account read it. Containers refer to the version, never `latest`:
a new value is a new version number, hence a new Cloud Run revision that reads it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from mcp_deploy.gcp.names import env_label, secret_id
from mcp_deploy.platform_spec import GcpSpec

GENERATED_LENGTH = 48


@dataclass(frozen=True)
class StoredSecret:
    env: str
    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    grant: gcp.secretmanager.SecretIamMember


def store_secret(
    name: str,
    id_parts: tuple[str, ...],
    env: str,
    value: pulumi.Input[str],
    member: pulumi.Input[str],
    google: GcpSpec,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> StoredSecret:
    label = f"{name}-{env_label(env)}"
    secret = gcp.secretmanager.Secret(
        label,
        project=google.project,
        secret_id=secret_id(*id_parts, env_label(env)),
        replication=gcp.secretmanager.SecretReplicationArgs(
            user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                replicas=[gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(location=google.region)]
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    version = gcp.secretmanager.SecretVersion(
        label,
        secret=secret.id,
        secret_data=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=secret),
    )
    grant = grant_read(f"{label}-reader", secret, member, parent)
    return StoredSecret(env=env, secret=secret, version=version, grant=grant)


def grant_read(
    name: str, secret: gcp.secretmanager.Secret, member: pulumi.Input[str], parent: pulumi.Resource
) -> gcp.secretmanager.SecretIamMember:
    return gcp.secretmanager.SecretIamMember(
        name,
        project=secret.project,
        secret_id=secret.secret_id,
        role="roles/secretmanager.secretAccessor",
        member=member,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def generated(name: str, env: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    # Letters and digits only: every URL, header and config format takes them unescaped.
    password = random.RandomPassword(
        f"{name}-{env_label(env)}",
        length=GENERATED_LENGTH,
        special=False,
        min_lower=1,
        min_upper=1,
        min_numeric=1,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(password.result)
