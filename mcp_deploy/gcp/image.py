"""Images Cloud Run runs, by digest: built from a context in the project and pushed to the
platform's Artifact Registry, or a prebuilt reference from a registry Cloud Run can pull."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi
import pulumi_docker as docker

if TYPE_CHECKING:  # the platform package imports this module
    from mcp_deploy.gcp.platform.registry import Registry

ROOT = Path(__file__).resolve().parents[2]

# Cloud Run deploys images only from Artifact Registry, Container Registry and Docker Hub
# (https://cloud.google.com/run/docs/deploying#images); anything else needs an Artifact
# Registry remote repository in front of it.
PULLABLE_SUFFIXES = ("-docker.pkg.dev", ".gcr.io")
PULLABLE_HOSTS = ("gcr.io", "docker.io", "index.docker.io", "registry-1.docker.io")


def registry_host(reference: str) -> str | None:
    """The registry host of an image reference; None means Docker Hub (no host given)."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def cloud_run_can_pull(reference: str) -> bool:
    host = registry_host(reference)
    return host is None or host in PULLABLE_HOSTS or host.endswith(PULLABLE_SUFFIXES)


def prebuilt(reference: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A reference with a digest is used as it is; a tag is resolved to its digest now, so a
    preview shows when the running image changes."""
    if "@sha256:" in reference:
        return pulumi.Output.from_input(reference)
    last = reference.rsplit("/", 1)[-1]
    repository = reference.rsplit(":", 1)[0] if ":" in last else reference
    found = docker.get_registry_image_output(name=reference, opts=pulumi.InvokeOptions(parent=parent))
    return found.sha256_digest.apply(lambda digest: f"{repository}@{digest}")


def built(
    name: str, context: str, image: str, registry: Registry, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """Build `context` (relative to the project root) for linux/amd64 and push it as
    <registry>/<image>:src-<hash of the context>, deployed by digest."""
    directory = ROOT / context
    pushed = docker.Image(
        name,
        image_name=pulumi.Output.concat(registry.url, f"/{image}:src-", context_hash(directory)),
        # Relative to where `pulumi up` runs (the project): plans must not depend on the clone path.
        build=docker.DockerBuildArgs(
            context=_relative(directory),
            dockerfile=_relative(directory / "Dockerfile"),
            platform="linux/amd64",
        ),
        registry=docker.RegistryArgs(
            server=registry.server, username=registry.username, password=registry.password
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[registry.repository]),
    )
    return pushed.repo_digest


def context_hash(directory: Path) -> str:
    """A hash of every file Docker would send as the build context (all of it but what
    .dockerignore leaves out), so any change that can change the image changes the tag: the
    repository's tags are immutable, and pushing a changed image under an old tag is refused."""
    ignored = _dockerignore(directory)
    digest = hashlib.sha256()
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = file.relative_to(directory).as_posix()
        if _ignored(relative, ignored):
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _dockerignore(directory: Path) -> list[str]:
    path = directory / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, bare) for part in parts):
            return True
    return False


def _relative(path: Path) -> str:
    return os.path.relpath(path, Path.cwd())
