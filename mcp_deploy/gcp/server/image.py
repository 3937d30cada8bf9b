"""The server's image: built from its context into the platform's Artifact Registry, or a
prebuilt reference Cloud Run can pull, by digest either way."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from mcp_deploy.bridge_image import stdio_server_image
from mcp_deploy.gcp.image import built, cloud_run_can_pull, prebuilt
from mcp_deploy.gcp.platform.registry import Registry, registry_access
from mcp_deploy.server_spec import ServerArgsError, ServerSpec


def check_pullable(spec: ServerSpec) -> None:
    if spec.image is not None and not cloud_run_can_pull(spec.image):
        raise ServerArgsError(
            f"server {spec.name!r}: Cloud Run pulls images only from Artifact Registry (*-docker.pkg.dev), "
            f"Container Registry (gcr.io) or Docker Hub, not {spec.image!r}; copy the image to the "
            "platform's Artifact Registry, or put an Artifact Registry remote repository in front of "
            "its registry and give that path"
        )


def server_image(
    name: str,
    spec: ServerSpec,
    registry: Registry,
    bridge_base: Callable[[], pulumi.Output[str]],
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    if spec.build is not None:
        return built(f"{name}-image", spec.build, spec.name, registry, parent)
    if spec.package is not None:
        opts = pulumi.ResourceOptions(parent=parent, depends_on=[registry.repository])
        access = registry_access(registry, spec.name)
        return stdio_server_image(f"{name}-image", spec.package, bridge_base(), access, opts)
    assert spec.image is not None  # resolve_server demands one of the two
    return prebuilt(spec.image, parent)
