"""IAM roles for AWS services, each with one inline policy written against exact resources."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws


def policy(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy document whose resources may be Outputs (ARNs)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def service_role(
    name: str, service: str, statements: list[dict[str, Any]], parent: pulumi.Resource
) -> aws.iam.Role:
    """A role `service` (e.g. ecs-tasks.amazonaws.com) may assume, allowed `statements` and no more."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    role = aws.iam.Role(
        name, assume_role_policy=json.dumps(trust), opts=pulumi.ResourceOptions(parent=parent)
    )
    aws.iam.RolePolicy(
        name, role=role.id, policy=policy(statements), opts=pulumi.ResourceOptions(parent=parent)
    )
    return role
