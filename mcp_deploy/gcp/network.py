"""The private network: a VPC and subnet Cloud Run egresses through (Direct VPC egress), and the
private services access range that Cloud SQL and Memorystore take their private IPs from."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import GcpArgs


@dataclass(frozen=True)
class Network:
    vpc: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    peering: gcp.servicenetworking.Connection


def network(name: str, args: GcpArgs, apis: list[gcp.projects.Service], parent: pulumi.Resource) -> Network:
    after_apis = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    vpc = gcp.compute.Network(
        f"{name}-vpc",
        project=args.project,
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        opts=after_apis,
    )
    subnet = gcp.compute.Subnetwork(
        f"{name}-run",
        project=args.project,
        region=args.region,
        network=vpc.id,
        ip_cidr_range=args.subnet_cidr,
        private_ip_google_access=True,
        log_config=gcp.compute.SubnetworkLogConfigArgs(
            aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    reserved = gcp.compute.GlobalAddress(
        f"{name}-services",
        project=args.project,
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
        opts=after_apis,
    )
    return Network(vpc=vpc, subnet=subnet, peering=peering)
