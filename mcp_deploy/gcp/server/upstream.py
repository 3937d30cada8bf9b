"""How the gateway reaches the server: the server's internal run.app URL, invoked with an ID token
of the gateway's account, the only account granted roles/run.invoker on it (no allUsers)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.platform.gateway import GatewayIdentity, Upstream
from mcp_deploy.platform_spec import GcpSpec
from mcp_deploy.server_spec import ServerSpec


def upstream(
    name: str,
    spec: ServerSpec,
    service: gcp.cloudrunv2.Service,
    gateway: GatewayIdentity,
    google: GcpSpec,
    parent: pulumi.Resource,
) -> Upstream:
    invoker = gcp.cloudrunv2.ServiceIamMember(
        f"{name}-invoker",
        project=google.project,
        location=google.region,
        name=service.name,
        role="roles/run.invoker",
        member=gateway.member,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return Upstream(
        name=spec.name,
        path=spec.path,
        scopes=spec.scopes,
        sticky=spec.sticky,
        service=service,
        invoker=invoker,
    )
