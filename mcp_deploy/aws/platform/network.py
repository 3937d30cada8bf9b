"""The VPC: public subnets for the load balancer, private subnets for tasks and data, and NAT for
the tasks' way out (JWKS, ECR, Secrets Manager). Or an existing VPC, by id.

Cost: a NAT gateway bills by the hour in each zone it sits in. One by default (a zone outage cuts
the tasks' egress); `nat_gateway_per_az` runs one per zone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mcp_deploy.platform_spec import AwsSpec


@dataclass(frozen=True)
class Network:
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    # The private subnets' routes out through NAT: a task pulling its image or reading a secret
    # at start needs them in place, so workloads depend on these.
    egress: list[pulumi.Resource] = field(default_factory=lambda: [])


def network(name: str, spec: AwsSpec, parent: pulumi.Resource) -> Network:
    if spec.vpc_id is not None:
        _check_private_dns(spec.vpc_id, parent)
        return Network(
            vpc_id=pulumi.Output.from_input(spec.vpc_id),
            public_subnet_ids=[pulumi.Output.from_input(s) for s in spec.public_subnet_ids],
            private_subnet_ids=[pulumi.Output.from_input(s) for s in spec.private_subnet_ids],
        )
    return _new_vpc(name, spec, parent)


class VpcWithoutPrivateDns(pulumi.RunError):
    """A `RunError`, so `pulumi up` prints the message without a traceback."""


def _check_private_dns(vpc_id: str, parent: pulumi.Resource) -> None:
    """Servers reach the gateway's JWKS by a name in a private DNS namespace (discovery.py), and
    AWS resolves such names only in a VPC with DNS support and DNS hostnames both on. Checked
    before any resource is registered: otherwise the deploy succeeds and every token check fails.
    """
    vpc = aws.ec2.get_vpc(id=vpc_id, opts=pulumi.InvokeOptions(parent=parent))
    # The attribute, its AWS CLI option, and whether it is on; support first, as AWS refuses
    # hostnames without it and takes one attribute per call.
    flags = (
        ("enableDnsSupport", "--enable-dns-support", vpc.enable_dns_support),
        ("enableDnsHostnames", "--enable-dns-hostnames", vpc.enable_dns_hostnames),
    )
    off = [(flag, option) for flag, option, on in flags if not on]
    if off:
        commands = "; ".join(f"aws ec2 modify-vpc-attribute --vpc-id {vpc_id} {option}" for _, option in off)
        names = " and ".join(flag for flag, _ in off)
        raise VpcWithoutPrivateDns(
            f"the VPC {vpc_id} (stack config awsVpcId; aws.vpc_id in the Python API) has {names} off. "
            "The gateway's JWKS name is in a private DNS namespace, which only a VPC with "
            f"enableDnsSupport and enableDnsHostnames on resolves. Turn them on: {commands}"
        )


def subnet_ranges(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Sixteen equal slices of the VPC: public ones from the bottom, private ones from the middle."""
    slices = [str(s) for s in ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=4)]
    return slices[:zones], slices[8 : 8 + zones]


def _new_vpc(name: str, spec: AwsSpec, parent: pulumi.Resource) -> Network:
    child = pulumi.ResourceOptions(parent=parent)
    zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=parent))
    stack = pulumi.get_stack()
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=spec.vpc_cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={"Name": f"{stack}-{name}-vpc"},
        opts=child,
    )
    gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
    public_route = aws.ec2.RouteTable(
        f"{name}-public",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
        opts=child,
    )
    public_ranges, private_ranges = subnet_ranges(spec.vpc_cidr, spec.availability_zones)
    public: list[aws.ec2.Subnet] = []
    private: list[aws.ec2.Subnet] = []
    nats: list[aws.ec2.NatGateway] = []
    egress: list[pulumi.Resource] = []
    for index in range(spec.availability_zones):
        zone = zones.names[index]
        public.append(
            aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=public_ranges[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,  # only the load balancer lives here
                tags={"Name": f"{stack}-{name}-public-{index}", "tier": "public"},
                opts=child,
            )
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-{index}", subnet_id=public[index].id, route_table_id=public_route.id, opts=child
        )
        if index == 0 or spec.nat_gateway_per_az:
            address = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", opts=child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{index}",
                    allocation_id=address.id,
                    subnet_id=public[index].id,
                    tags={"Name": f"{stack}-{name}-nat-{index}"},
                    opts=pulumi.ResourceOptions(parent=parent, depends_on=[gateway]),
                )
            )
        private.append(
            aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=private_ranges[index],
                availability_zone=zone,
                tags={"Name": f"{stack}-{name}-private-{index}", "tier": "private"},
                opts=child,
            )
        )
        route = aws.ec2.RouteTable(
            f"{name}-private-{index}",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[-1].id)],
            opts=child,
        )
        egress.append(
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}", subnet_id=private[index].id, route_table_id=route.id, opts=child
            )
        )
    return Network(
        vpc_id=vpc.id,
        public_subnet_ids=[s.id for s in public],
        private_subnet_ids=[s.id for s in private],
        egress=egress,
    )
