"""Artifact Registry: one Docker repository for the platform's images (each server's own image
name in it, and the backup image), whose cleanup policy keeps only the newest versions."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import compute_name
from mcp_deploy.image import RegistryAccess
from mcp_deploy.platform_spec import GcpSpec


@dataclass(frozen=True)
class Registry:
    repository: gcp.artifactregistry.Repository
    url: pulumi.Output[str]  # <region>-docker.pkg.dev/<project>/<repository>; images go under it
    server: str
    username: str
    password: pulumi.Output[str]  # a short-lived access token of whoever runs `pulumi up`


def registry(
    name: str, google: GcpSpec, keep_images: int, apis: list[gcp.projects.Service], parent: pulumi.Resource
) -> Registry:
    repository = gcp.artifactregistry.Repository(
        f"{name}-images",
        project=google.project,
        location=google.region,
        repository_id=compute_name(name, "images"),
        format="DOCKER",
        description="mcp-deploy images",
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
    host = f"{google.region}-docker.pkg.dev"
    token = gcp.organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=parent)).access_token
    return Registry(
        repository=repository,
        url=pulumi.Output.concat(host, "/", google.project, "/", repository.repository_id),
        server=f"https://{host}",
        username="oauth2accesstoken",
        password=pulumi.Output.secret(token),
    )


def registry_access(found: Registry, image: str) -> RegistryAccess:
    """Push access to `<registry>/<image>` with the caller's access token."""
    return RegistryAccess(
        repository_url=pulumi.Output.concat(found.url, f"/{image}"),
        server=found.server,
        username=found.username,
        password=found.password,
    )
