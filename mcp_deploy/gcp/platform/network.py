"""The private network: a VPC and subnet Cloud Run egresses through (Direct VPC egress), and the
private services access range that Cloud SQL and Memorystore take their private IPs from."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import compute_name
from mcp_deploy.platform_spec import GcpSpec


@dataclass(frozen=True)
class Network:
    vpc: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    peering: gcp.servicenetworking.Connection


def network(name: str, google: GcpSpec, apis: list[gcp.projects.Service], parent: pulumi.Resource) -> Network:
    after_apis = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    vpc = gcp.compute.Network(
        f"{name}-vpc",
        project=google.project,
        name=compute_name(name, "vpc"),
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        opts=after_apis,
    )
    subnet = gcp.compute.Subnetwork(
        f"{name}-run",
        project=google.project,
        name=compute_name(name, "run"),
        region=google.region,
        network=vpc.id,
        ip_cidr_range=google.subnet_cidr,
        private_ip_google_access=True,
        log_config=gcp.compute.SubnetworkLogConfigArgs(
            aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    reserved = gcp.compute.GlobalAddress(
        f"{name}-services",
        project=google.project,
        name=compute_name(name, "services"),
        network=vpc.id,
        purpose="VPC_PEERING",
        address_type="INTERNAL",
        prefix_length=20,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    peering = gcp.servicenetworking.Connection(
        f"{name}-services",
        network=vpc.id,
        service="servicenetworking.googleapis.com",
        reserved_peering_ranges=[reserved.name],
        # Deleting the peering fails while Cloud SQL/Memorystore still hold addresses in the range
        # (they are released days later), which made `pulumi destroy` fail; abandon it instead:
        # it goes with the VPC.
        deletion_policy="ABANDON",
        opts=after_apis,
    )
    return Network(vpc=vpc, subnet=subnet, peering=peering)
