"""Images the kubernetes target runs, deployed by digest: built from a context and pushed to
`k8s.registry` (mcp_deploy.image: the tag names the context and hashes every file the builder
sends, so an edit never re-pushes an existing tag), or a prebuilt reference pinned to its digest.
Pushing uses the local `docker login` for the registry's host."""

from __future__ import annotations

import pulumi

from mcp_deploy.image import McpImage, RegistryAccess, pinned


def built_image(
    resource_name: str,
    build: str,
    registry: str,
    parent: pulumi.Resource,
    dockerfile: str | None = None,
) -> pulumi.Output[str]:
    """`dockerfile` defaults to `<build>/Dockerfile`."""
    access = registry_access(registry)
    opts = pulumi.ResourceOptions(parent=parent)
    image = McpImage(resource_name, None, access, opts, context=build, dockerfile=dockerfile)
    return image.ref


def prebuilt_image(reference: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    return pinned(reference, parent)


def registry_access(registry: str) -> RegistryAccess:
    """`registry` (host/path) with the local `docker login` for its host."""
    return RegistryAccess(repository_url=registry, server=registry.split("/", 1)[0])
