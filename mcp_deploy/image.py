"""The server image, by digest: built from server/ for linux/amd64 and pushed to the registry the
target provides, or a prebuilt reference. Services deploy `ref` (name@sha256:...), so a preview
shows exactly when the running image changes."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

SERVER_DIR = Path(__file__).resolve().parents[1] / "server"
# What goes into the image; the tag is a hash of these, so an unchanged server reuses its tag
# (registries here keep tags immutable).
IMAGE_INPUTS = ("Dockerfile", "pyproject.toml", "uv.lock", "src")


@dataclass(frozen=True)
class RegistryAccess:
    repository_url: pulumi.Input[str]  # e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mcp
    server: pulumi.Input[str]
    # None: push with the local Docker login (`docker login` beforehand).
    username: pulumi.Input[str] | None = None
    password: pulumi.Input[str] | None = None


class McpImage(pulumi.ComponentResource):
    ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        prebuilt: str | None,
        registry: RegistryAccess | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mcp-deploy:index:Image", name, None, opts)
        if prebuilt is not None:
            self.ref = pinned(prebuilt, self)
        else:
            assert registry is not None, "building the image needs the target's registry"
            image = docker.Image(
                f"{name}-server",
                image_name=pulumi.Output.concat(registry.repository_url, ":src-", source_hash()),
                # Relative to where `pulumi up` runs (the project): plans must not depend on the clone path.
                build=docker.DockerBuildArgs(
                    context=_relative(SERVER_DIR),
                    dockerfile=_relative(SERVER_DIR / "Dockerfile"),
                    platform="linux/amd64",
                ),
                registry=docker.RegistryArgs(
                    server=registry.server,
                    username=registry.username,
                    password=pulumi.Output.secret(registry.password)
                    if registry.password is not None
                    else None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.ref = image.repo_digest
        self.register_outputs({"ref": self.ref})


def pinned(reference: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A reference with a digest is used as it is; a tag is resolved to its digest now."""
    if "@sha256:" in reference:
        return pulumi.Output.from_input(reference)
    repository = reference.rsplit(":", 1)[0] if ":" in reference.rsplit("/", 1)[-1] else reference
    found = docker.get_registry_image_output(name=reference, opts=pulumi.InvokeOptions(parent=parent))
    return found.sha256_digest.apply(lambda digest: f"{repository}@{digest}")


def _relative(path: Path) -> str:
    return os.path.relpath(path, Path.cwd())


def source_hash() -> str:
    digest = hashlib.sha256()
    for entry in IMAGE_INPUTS:
        path = SERVER_DIR / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(SERVER_DIR)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]
