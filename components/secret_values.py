"""The three secrets every target needs, from config or generated with pulumi-random. Targets
store them in their own secret manager; the values stay Pulumi secrets throughout."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components.args import SecretArgs


@dataclass(frozen=True)
class SecretValues:
    postgres_password: pulumi.Output[str]
    redis_auth_token: pulumi.Output[str]
    request_state_key: pulumi.Output[str]


def secret_values(name: str, given: SecretArgs, parent: pulumi.Resource) -> SecretValues:
    def generated(label: str, length: int) -> pulumi.Output[str]:
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

    return SecretValues(
        postgres_password=given.postgres_password or generated("postgres-password", 32),
        redis_auth_token=given.redis_auth_token or generated("redis-auth-token", 32),
        request_state_key=given.request_state_key or generated("request-state-key", 64),
    )
