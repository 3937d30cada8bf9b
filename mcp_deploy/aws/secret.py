"""One Secrets Manager secret and its value. Containers get the secret by ARN; whatever starts
them must also wait for the version (the value), not only for the empty secret."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from mcp_deploy.names import physical_name

SECRET_NAME_LIMIT = 512


@dataclass(frozen=True)
class StoredSecret:
    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.secret.arn


def stored_secret(
    name: str,
    name_parts: tuple[str, ...],
    description: str,
    value: pulumi.Input[str],
    production: bool,
    parent: pulumi.Resource,
) -> StoredSecret:
    secret = aws.secretsmanager.Secret(
        name,
        name=physical_name(*name_parts, limit=SECRET_NAME_LIMIT),
        description=description,
        # Prod keeps a deleted secret recoverable for 30 days (its name stays taken meanwhile);
        # dev deletes at once so a stack can be rebuilt under the same names.
        recovery_window_in_days=30 if production else 0,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    version = aws.secretsmanager.SecretVersion(
        name,
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=secret),
    )
    return StoredSecret(secret=secret, version=version)


def generated(name: str, length: int, parent: pulumi.Resource) -> pulumi.Output[str]:
    """Letters and digits only: every database, cache and URL takes them unescaped."""
    password = random.RandomPassword(
        name,
        length=length,
        special=False,
        min_lower=1,
        min_upper=1,
        min_numeric=1,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(password.result)
