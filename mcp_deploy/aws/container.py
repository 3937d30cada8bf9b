"""The shape every container definition here shares: hardened, logging to CloudWatch, secrets only
as Secrets Manager ARNs, and a writable /tmp on a task volume.

Fargate mounts a task volume root-owned 0755 unless the image declares `VOLUME /tmp` (then the
image's ownership and mode are copied): a non-root image with a read-only root needs that line.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pulumi_aws as aws

from mcp_deploy.server_spec import DRAIN_SECONDS

SCRATCH_VOLUME = "tmp"
SECRETS_REVISION_LABEL = "mcp-deploy.secrets-revision"


# The backup image's non-root user (backup/Dockerfile); named here so the task says it too.
BACKUP_USER = 10001


def container(
    name: str,
    image: pulumi.Input[str],
    environment: dict[str, pulumi.Input[str]],
    secrets: dict[str, pulumi.Input[str]],
    log_group: aws.cloudwatch.LogGroup,
    region: pulumi.Input[str],
    *,
    entry_point: list[str] | None = None,
    command: list[str] | None = None,
    user: int | None = None,
    read_only_root: bool = True,
    essential: bool = True,
    revision: pulumi.Input[str] | None = None,
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": name,
        "image": image,
        "essential": essential,
        "readonlyRootFilesystem": read_only_root,
        "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": "/tmp", "readOnly": False}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "stopTimeout": DRAIN_SECONDS + 10,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group.name,
                "awslogs-region": region,
                "awslogs-stream-prefix": name,
            },
        },
    }
    if entry_point is not None:
        definition["entryPoint"] = entry_point
    if command is not None:
        definition["command"] = command
    if user is not None:
        definition["user"] = f"{user}:{user}"
    if revision is not None:
        # ECS reads a secret once, when a task starts: a new value reaches running tasks only if
        # the task definition changes with it, so it carries a hash of the secrets' version ids.
        definition["dockerLabels"] = {SECRETS_REVISION_LABEL: revision}
    return definition


def secrets_revision(versions: list[aws.secretsmanager.SecretVersion]) -> pulumi.Output[str] | None:
    """A short hash of the versions' ids: a new value is a new Secrets Manager version (a new
    version_id, and a new resource id when the provider replaces it), so the hash changes when any
    value does, and reveals nothing of the values."""
    if not versions:
        return None
    return pulumi.Output.all(*[part for v in versions for part in (v.id, v.version_id)]).apply(
        lambda ids: hashlib.sha256("\n".join(str(i) for i in ids).encode()).hexdigest()[:16]
    )


def scratch_volume() -> aws.ecs.TaskDefinitionVolumeArgs:
    return aws.ecs.TaskDefinitionVolumeArgs(name=SCRATCH_VOLUME)
