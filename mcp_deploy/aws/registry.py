"""ECR: scanned on push, immutable tags, only the newest images kept."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mcp_deploy.image import RegistryAccess


def registry(
    name: str, keep_images: int, production: bool, parent: pulumi.Resource
) -> tuple[RegistryAccess, pulumi.Output[str]]:
    """The repository to push to, and its ARN (the tasks may pull from exactly this one)."""
    child = pulumi.ResourceOptions(parent=parent)
    repository = aws.ecr.Repository(
        f"{name}-server",
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
        force_delete=not production,
        opts=child,
    )
    policy = {
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
    aws.ecr.LifecyclePolicy(
        f"{name}-server", repository=repository.name, policy=json.dumps(policy), opts=child
    )
    token = aws.ecr.get_authorization_token_output(
        registry_id=repository.registry_id, opts=pulumi.InvokeOptions(parent=parent)
    )
    access = RegistryAccess(
        repository_url=repository.repository_url,
        server=token.proxy_endpoint,
        username=token.user_name,
        password=token.password,
    )
    return access, repository.arn
