"""How requests reach one server: only from the gateway, privately.

Its own security group admits the gateway's group on its port and nothing else (the load
balancer reaches only the gateway); it goes out to the data it uses, to HTTPS, and, when it
verifies the gateway's tokens, to the gateway's JWKS on `gateway.<private namespace>:8080`.

A stateless server publishes `<name>:<port>` in the platform's Service Connect namespace; the
gateway's proxy balances each request over its healthy tasks. A sticky server is a Service
Connect client only and its tasks are listed as DNS A records
in Cloud Map: the gateway resolves them and pins each `Mcp-Session-Id` to one task itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.security import POSTGRES_PORT, REDIS_PORT, allow, https_out, security_group
from mcp_deploy.server_spec import ServerSpec

PORT_NAME = "mcp"  # the task definition's port mapping Service Connect publishes


@dataclass(frozen=True)
class Routing:
    group: aws.ec2.SecurityGroup
    # Security-group rules the tasks need at start (to the database, Redis, HTTPS, the gateway).
    network_rules: list[pulumi.Resource]
    service_connect: aws.ecs.ServiceServiceConnectConfigurationArgs
    replicas: aws.servicediscovery.Service | None  # sticky: its tasks' DNS records
    host: str  # what the gateway's route names as the upstream host
    discovery: Literal["dns", "none"]


def trusts_gateway(spec: ServerSpec) -> bool:
    """A server whose env takes the platform's issuer (`${authIssuer}`) verifies tokens: behind the
    gateway it gets the gateway's issuer and JWKS instead of the clients' issuer."""
    return any("${authIssuer}" in value for value in spec.env.values())


def routing(spec: ServerSpec, platform: AwsPlatform, parent: pulumi.Resource) -> Routing:
    name, prefix = spec.name, platform.prefix
    group = security_group(
        f"{name}-tasks", (prefix, name, "tasks"), platform.network.vpc_id, f"MCP server {name} tasks", parent
    )
    network_rules = [
        *allow(f"{name}-gateway-to-tasks", platform.gateway_group, group, spec.port, parent),
        https_out(f"{name}-tasks", group, parent),
    ]
    if trusts_gateway(spec):
        gateway_port = platform.spec.gateway.port
        network_rules += allow(f"{name}-to-gateway", group, platform.gateway_group, gateway_port, parent)
    if spec.postgres is not None and platform.postgres_group is not None:
        network_rules += allow(f"{name}-to-postgres", group, platform.postgres_group, POSTGRES_PORT, parent)
    if spec.redis is not None and platform.redis_group is not None:
        network_rules += allow(f"{name}-to-redis", group, platform.redis_group, REDIS_PORT, parent)
    if spec.sticky:
        return Routing(
            group=group,
            network_rules=network_rules,
            service_connect=platform.discovery.connect(),
            replicas=platform.discovery.replica_records(name, parent),
            host=platform.discovery.replica_host(name),
            discovery="dns",
        )
    return Routing(
        group=group,
        network_rules=network_rules,
        service_connect=platform.discovery.connect(PORT_NAME, name, spec.port),
        replicas=None,
        host=name,
        discovery="none",
    )


def plain_env(spec: ServerSpec, platform: AwsPlatform) -> dict[str, str]:
    """The server's plain env; one that verifies tokens trusts the gateway's, with the audience
    its own route URL (the gateway's upstream tokens are minted per server)."""
    if not trusts_gateway(spec):
        return spec.plain_env(platform.spec.domain, platform.spec.auth_issuer, platform.spec.auth_audience)
    env = spec.plain_env(platform.spec.domain, platform.gateway_issuer, None)
    # Our notes server's names; a server that names its JWKS setting itself keeps its own.
    env.setdefault("AUTH_JWKS_URL", platform.gateway_jwks_url)
    env.setdefault("AUTH_JWKS_ALLOW_HTTP", "true")  # a private address inside the VPC
    return dict(sorted(env.items()))
