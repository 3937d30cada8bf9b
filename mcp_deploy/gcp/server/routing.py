"""How the load balancer reaches the server: a serverless NEG for its Cloud Run service and a
backend service carrying the platform's Cloud Armor policy. The platform's URL map routes
/<name><path> (rewritten to <path>) and the server's RFC 9728 metadata path to it."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import compute_name
from mcp_deploy.gcp.platform.edge import Route
from mcp_deploy.platform_spec import GcpSpec
from mcp_deploy.server_spec import ServerSpec


def route(
    name: str,
    prefix: str,
    spec: ServerSpec,
    service: gcp.cloudrunv2.Service,
    armor: gcp.compute.SecurityPolicy,
    google: GcpSpec,
    parent: pulumi.Resource,
) -> Route:
    child = pulumi.ResourceOptions(parent=parent)
    neg = gcp.compute.RegionNetworkEndpointGroup(
        f"{name}-neg",
        project=google.project,
        name=compute_name(prefix, spec.name, "neg"),
        region=google.region,
        network_endpoint_type="SERVERLESS",
        cloud_run=gcp.compute.RegionNetworkEndpointGroupCloudRunArgs(service=service.name),
        opts=child,
    )
    backend = gcp.compute.BackendService(
        f"{name}-backend",
        project=google.project,
        name=compute_name(prefix, spec.name, "backend"),
        load_balancing_scheme="EXTERNAL_MANAGED",
        protocol="HTTPS",
        backends=[gcp.compute.BackendServiceBackendArgs(group=neg.id)],
        security_policy=armor.id,
        log_config=gcp.compute.BackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
        opts=child,
    )
    return Route(prefix=spec.route_prefix, path=spec.path, metadata_path=spec.metadata_path, backend=backend)
