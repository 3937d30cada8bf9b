"""The secrets every target needs, and the Redis AUTH token the targets that set one need (on
Cloud Run, Memorystore makes its own), from config or generated with pulumi-random. Targets store
them in their own secret manager; the values stay Pulumi secrets throughout."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from mcp_deploy.args import SecretArgs


@dataclass(frozen=True)
class SecretValues:
    postgres_password: pulumi.Output[str]
    request_state_key: pulumi.Output[str]


def secret_values(name: str, given: SecretArgs, parent: pulumi.Resource) -> SecretValues:
    return SecretValues(
        postgres_password=given.postgres_password or _generated(name, "postgres-password", 32, parent),
        request_state_key=given.request_state_key or _generated(name, "request-state-key", 64, parent),
    )


def redis_auth_token(name: str, given: SecretArgs, parent: pulumi.Resource) -> pulumi.Output[str]:
    return given.redis_auth_token or _generated(name, "redis-auth-token", 32, parent)


def _generated(name: str, label: str, length: int, parent: pulumi.Resource) -> pulumi.Output[str]:
    # Letters and digits only: every database, cache and URL takes them unescaped.
    password = random.RandomPassword(
        f"{name}-{label}",
        length=length,
        special=False,
        min_lower=1,
        min_upper=1,
        min_numeric=1,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(password.result)
