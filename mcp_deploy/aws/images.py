"""Images the aws-ecs target deploys: built from a context into an ECR repository of their own
(scanned, immutable tags, old images expired), or prebuilt and pinned to a digest."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from mcp_deploy.image import McpImage, RegistryAccess
from mcp_deploy.names import physical_name

ECR_NAME_LIMIT = 256


def repository(
    name: str, name_parts: tuple[str, ...], keep_images: int, production: bool, parent: pulumi.Resource
) -> aws.ecr.Repository:
    """ECR: scanned on push, immutable tags, only the newest `keep_images` kept."""
    child = pulumi.ResourceOptions(parent=parent)
    repo = aws.ecr.Repository(
        name,
        name=physical_name(*name_parts, limit=ECR_NAME_LIMIT),
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
        force_delete=not production,
        opts=child,
    )
    rules = {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"keep the newest {keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    aws.ecr.LifecyclePolicy(name, repository=repo.name, policy=json.dumps(rules), opts=child)
    return repo


def built_image(
    name: str,
    context: Path,
    repo: aws.ecr.Repository,
    parent: pulumi.Resource,
    dockerfile: Path | None = None,
) -> pulumi.Output[str]:
    """Build `context` with `dockerfile` (default `<context>/Dockerfile`; see mcp_deploy/image.py
    for the tag), push it to `repo`, and return name@sha256:digest."""
    return McpImage(
        name,
        None,
        ecr_access(repo, parent),
        pulumi.ResourceOptions(parent=parent),
        context=context,
        dockerfile=dockerfile,
    ).ref


def ecr_access(repo: aws.ecr.Repository, parent: pulumi.Resource) -> RegistryAccess:
    """Push access to `repo` with a short-lived ECR token of whoever runs `pulumi up`."""
    token = aws.ecr.get_authorization_token_output(
        registry_id=repo.registry_id, opts=pulumi.InvokeOptions(parent=parent)
    )
    return RegistryAccess(
        repository_url=repo.repository_url,
        server=token.proxy_endpoint,
        username=token.user_name,
        password=token.password,
    )


def ecr_repository_arn(reference: str) -> str | None:
    """The repository ARN of an ECR image reference (ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo:tag),
    or None for any other registry."""
    host, _, path = reference.partition("/")
    parts = host.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not host.endswith(".amazonaws.com"):
        return None
    repo = path.split("@")[0].split(":")[0]
    return f"arn:aws:ecr:{parts[3]}:{parts[0]}:repository/{repo}"
