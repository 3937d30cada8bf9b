"""Which component serves which `target`, and the outputs every target must expose.

`__main__.py` stays target-agnostic: it asks `builder_for(target)` before registering anything,
so a stack naming an unbuilt target fails without touching any cloud.
"""

from __future__ import annotations

from typing import Protocol

import pulumi

from mcp_deploy.args import McpServiceArgs
from mcp_deploy.aws import EcsMcpService
from mcp_deploy.config import Target
from mcp_deploy.gcp import CloudRunMcpService
from mcp_deploy.k8s import KubernetesMcpService

# The stack outputs, in the order `__main__.py` exports them; every target provides all of them.
OUTPUT_NAMES = ("url", "mcp_endpoint", "image", "database", "cache", "backup_bucket")


class McpService(Protocol):
    """The public shape of every target's component (see OUTPUT_NAMES)."""

    url: pulumi.Output[str]
    mcp_endpoint: pulumi.Output[str]
    image: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]


class Builder(Protocol):
    def __call__(
        self, name: str, args: McpServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> McpService: ...


class TargetNotImplementedError(pulumi.RunError):
    """A `RunError`, so `pulumi up` prints the message without a traceback."""


# Targets whose component is built. The others are tracked issues, named in the error.
BUILT: dict[Target, Builder] = {
    "aws-ecs": EcsMcpService,
    "gcp-cloudrun": CloudRunMcpService,
    "kubernetes": KubernetesMcpService,
}
PLANNED: dict[Target, str] = {}


def builder_for(target: Target) -> Builder:
    builder = BUILT.get(target)
    if builder is None:
        built = ", ".join(sorted(BUILT)) or "none yet"
        raise TargetNotImplementedError(
            f"target {target} is not implemented yet ({PLANNED[target]}); nothing was registered. "
            f"Built targets: {built}."
        )
    return builder


def export_outputs(service: McpService) -> None:
    """The shared contract, then the extra outputs the target's class declares (restore_command...)."""
    declared = list(type(service).__annotations__)
    for name in [*OUTPUT_NAMES, *sorted(set(declared) - set(OUTPUT_NAMES))]:
        pulumi.export(name, getattr(service, name))
