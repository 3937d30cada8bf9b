"""Artifact Registry: a Docker repository whose cleanup policy keeps only the newest images."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import GcpArgs
from mcp_deploy.image import RegistryAccess


def registry(
    name: str, args: GcpArgs, keep_images: int, apis: list[gcp.projects.Service], parent: pulumi.Resource
) -> RegistryAccess:
    repository = gcp.artifactregistry.Repository(
        f"{name}-server",
        project=args.project,
        location=args.region,
        repository_id=f"{name}-server",
        format="DOCKER",
        description="mcp-deploy server images",
        docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=True),
        cleanup_policy_dry_run=False,
        cleanup_policies=[
            gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                id="keep-newest",
                action="KEEP",
                most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                    keep_count=keep_images
                ),
            ),
            gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                id="delete-older",
                action="DELETE",
                condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(older_than="86400s"),
            ),
        ],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    host = f"{args.region}-docker.pkg.dev"
    token = gcp.organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=parent)).access_token
    return RegistryAccess(
        repository_url=pulumi.Output.concat(
            host, "/", args.project, "/", repository.repository_id, "/server"
        ),
        server=f"https://{host}",
        username="oauth2accesstoken",
        password=token,
    )
