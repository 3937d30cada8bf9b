"""Which components serve which `target`, and the outputs every target exposes.

`__main__.py` stays target-agnostic: it asks `components_for(target)` before registering
anything, so a stack naming an unbuilt target fails without touching any cloud.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import pulumi

from mcp_deploy.client_config import client_config
from mcp_deploy.config import Target
from mcp_deploy.platform_args import PlatformArgs
from mcp_deploy.server_args import ServerArgs

# Platform outputs every target provides, in the order __main__.py exports them.
PLATFORM_OUTPUTS = ("url", "database", "cache", "backup_bucket")


class Platform(Protocol):
    url: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]

    def finish(self) -> None:
        """After the last server: what needs them all (GCP's URL map, backup jobs) is made."""
        ...


class Server(Protocol):
    url: pulumi.Output[str]
    image: pulumi.Output[str]


class PlatformBuilder(Protocol):
    def __call__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> Platform: ...


class ServerBuilder(Protocol):
    def __call__(
        self, name: str, args: ServerArgs, platform: ..., opts: pulumi.ResourceOptions | None = None
    ) -> Server: ...


class Components(NamedTuple):
    platform: PlatformBuilder
    server: ServerBuilder


class TargetNotImplementedError(pulumi.RunError):
    """A `RunError`, so `pulumi up` prints the message without a traceback."""


def components_for(target: Target) -> Components:
    # Imported here so that a program for one target does not load the other providers' SDKs.
    if target == "aws-ecs":
        from mcp_deploy.aws import AwsPlatform, AwsServer

        return Components(AwsPlatform, AwsServer)
    if target == "gcp-cloudrun":
        from mcp_deploy.gcp import GcpPlatform, GcpServer

        return Components(GcpPlatform, GcpServer)
    if target == "kubernetes":
        from mcp_deploy.k8s import K8sPlatform, K8sServer

        return Components(K8sPlatform, K8sServer)
    raise TargetNotImplementedError(f"target {target} is not implemented; nothing was registered")


def export_outputs(platform: Platform, servers: dict[str, Server]) -> None:
    """The shared contract, then the extra outputs the platform's class declares."""
    declared = list(type(platform).__annotations__)
    for name in [*PLATFORM_OUTPUTS, *sorted(set(declared) - set(PLATFORM_OUTPUTS))]:
        pulumi.export(name, getattr(platform, name))
    pulumi.export(
        "servers",
        {
            name: {key: getattr(server, key) for key in type(server).__annotations__}
            for name, server in sorted(servers.items())
        },
    )
    pulumi.export("clientConfig", client_config({name: server.url for name, server in servers.items()}))
