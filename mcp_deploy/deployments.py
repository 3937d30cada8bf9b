"""One platform and its servers as a single component: what `pulumi package add` serves.

A multi-language caller constructs components as `cls(name, args, opts)` with plain-data args,
so it cannot hand a Python Platform object to a Server. These wrappers take both as data and do
what `__main__.py` does: the platform, each server, then `finish()`. Python programs can use the
Platform and Server classes directly.
"""

from typing import TypedDict

import pulumi

from mcp_deploy.aws import AwsPlatform, AwsServer
from mcp_deploy.gcp import GcpPlatform, GcpServer
from mcp_deploy.k8s import K8sPlatform, K8sServer
from mcp_deploy.platform_args import PlatformArgs
from mcp_deploy.server_args import ServerArgs


class DeploymentArgs(TypedDict):
    """A platform and the servers on it."""

    platform: PlatformArgs
    """What the servers share: domain, issuer, data tier, per-target settings."""
    servers: dict[str, ServerArgs]
    """Server name (1-20 of a-z, 0-9 and '-') -> its contract."""


class AwsDeployment(pulumi.ComponentResource):
    """An aws-ecs platform (VPC, ECS cluster, ALB, RDS, ElastiCache) and its servers."""

    url: pulumi.Output[str]
    server_urls: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mcp-deploy:index:AwsDeployment", name, None, opts)
        platform = AwsPlatform(name, args["platform"], pulumi.ResourceOptions(parent=self))
        servers = {
            n: AwsServer(n, a, platform, pulumi.ResourceOptions(parent=self))
            for n, a in args["servers"].items()
        }
        platform.finish()
        self.url = platform.url
        self.server_urls = pulumi.Output.all(**{n: s.url for n, s in servers.items()})
        self.register_outputs({"url": self.url, "server_urls": self.server_urls})


class GcpDeployment(pulumi.ComponentResource):
    """A gcp-cloudrun platform (VPC, global LB, Cloud SQL, Memorystore) and its servers."""

    url: pulumi.Output[str]
    server_urls: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mcp-deploy:index:GcpDeployment", name, None, opts)
        platform = GcpPlatform(name, args["platform"], pulumi.ResourceOptions(parent=self))
        servers = {
            n: GcpServer(n, a, platform, pulumi.ResourceOptions(parent=self))
            for n, a in args["servers"].items()
        }
        platform.finish()
        self.url = platform.url
        self.server_urls = pulumi.Output.all(**{n: s.url for n, s in servers.items()})
        self.register_outputs({"url": self.url, "server_urls": self.server_urls})


class K8sDeployment(pulumi.ComponentResource):
    """A kubernetes platform (namespace, Gateway, CloudNativePG, Redis) and its servers."""

    url: pulumi.Output[str]
    server_urls: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mcp-deploy:index:K8sDeployment", name, None, opts)
        platform = K8sPlatform(name, args["platform"], pulumi.ResourceOptions(parent=self))
        servers = {
            n: K8sServer(n, a, platform, pulumi.ResourceOptions(parent=self))
            for n, a in args["servers"].items()
        }
        platform.finish()
        self.url = platform.url
        self.server_urls = pulumi.Output.all(**{n: s.url for n, s in servers.items()})
        self.register_outputs({"url": self.url, "server_urls": self.server_urls})
