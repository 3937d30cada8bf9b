"""IAM roles for AWS services, each with one inline policy written against exact resources."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mcp_deploy.names import physical_name

ROLE_NAME_LIMIT = 64


@dataclass(frozen=True)
class Role:
    role: aws.iam.Role
    # The grant itself: whatever uses the role must wait for this, not only for the role.
    policy: aws.iam.RolePolicy

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn


def policy(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy document whose resources may be Outputs (ARNs)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def service_role(
    name: str,
    name_parts: tuple[str, ...],
    service: str,
    statements: list[dict[str, Any]],
    parent: pulumi.Resource,
) -> Role:
    """A role `service` (e.g. ecs-tasks.amazonaws.com) may assume, allowed `statements` and no more.

    `name` is the Pulumi name; `name_parts` make the IAM name, unique per stack (IAM names are
    account-wide)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    role = aws.iam.Role(
        name,
        name=physical_name(*name_parts, limit=ROLE_NAME_LIMIT),
        assume_role_policy=json.dumps(trust),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    grant = aws.iam.RolePolicy(
        name, role=role.id, policy=policy(statements), opts=pulumi.ResourceOptions(parent=parent)
    )
    return Role(role=role, policy=grant)
