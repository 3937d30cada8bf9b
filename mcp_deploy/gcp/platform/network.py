"""The private network: a VPC and subnet Cloud Run egresses through (Direct VPC egress), the
private services access range that Cloud SQL and Memorystore take their private IPs from, and
Cloud NAT for the subnet.

Every Cloud Run service sends ALL its traffic through the subnet: a call to an internal-ingress
service's run.app URL counts as internal only when it leaves through a VPC network with Private
Google Access on (https://cloud.google.com/run/docs/securing/ingress, "Requests to Cloud Run from
Cloud Run ... must go to the VPC network to be considered internal"). Public destinations (the
OAuth issuer's JWKS, a team server's own APIs) then need Cloud NAT, which Direct VPC egress
supports (https://cloud.google.com/run/docs/configuring/static-outbound-ip)."""

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
    nat: gcp.compute.RouterNat


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
    router = gcp.compute.Router(
        f"{name}-router",
        project=google.project,
        name=compute_name(name, "router"),
        region=google.region,
        network=vpc.id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    nat = gcp.compute.RouterNat(
        f"{name}-nat",
        project=google.project,
        name=compute_name(name, "nat"),
        region=google.region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
        subnetworks=[
            gcp.compute.RouterNatSubnetworkArgs(name=subnet.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])
        ],
        log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return Network(vpc=vpc, subnet=subnet, peering=peering, nat=nat)
