"""An existing VPC (awsVpcId) on aws-ecs: the program builds in it, and refuses one without DNS
support or DNS hostnames before registering anything, naming the key and the fix: servers find the
gateway's JWKS by a name in a private DNS namespace that only such a VPC resolves."""

from __future__ import annotations

import pytest

from mcp_deploy.aws.platform.network import VpcWithoutPrivateDns
from tests.harness.program import ProgramRun, run_program

SUBNETS = {
    "awsPublicSubnetIds": '["subnet-pa", "subnet-pb"]',
    "awsPrivateSubnetIds": '["subnet-qa", "subnet-qb"]',
}


def in_vpc(vpc_id: str) -> ProgramRun:
    return run_program("dev", "aws-ecs", overrides={"awsVpcId": vpc_id, **SUBNETS})


def test_the_platform_builds_in_the_vpc_it_is_given() -> None:
    run = in_vpc("vpc-0abc")
    assert run.error is None, run.error
    assert run.of_type("aws:ec2/vpc:Vpc") == []
    [namespace] = run.of_type("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    assert namespace.inputs["vpc"] == "vpc-0abc"
    groups = run.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert groups
    assert {g.inputs["vpcId"] for g in groups} == {"vpc-0abc"}


@pytest.mark.parametrize(
    ("vpc_id", "off", "commands"),
    [
        ("vpc-0abc-dns-hostnames-off", "enableDnsHostnames off", ["--enable-dns-hostnames"]),
        (
            "vpc-0abc-dns-off",
            "enableDnsSupport and enableDnsHostnames off",
            ["--enable-dns-support", "--enable-dns-hostnames"],
        ),
    ],
)
def test_a_vpc_without_private_dns_is_refused_before_any_resource(
    vpc_id: str, off: str, commands: list[str]
) -> None:
    run = in_vpc(vpc_id)
    assert isinstance(run.error, VpcWithoutPrivateDns), run.error
    message = str(run.error)
    assert message.startswith(
        f"the VPC {vpc_id} (stack config awsVpcId; aws.vpc_id in the Python API) has {off}."
    )
    fixes = [f"aws ec2 modify-vpc-attribute --vpc-id {vpc_id} {flag}" for flag in commands]
    assert message.endswith("Turn them on: " + "; ".join(fixes))
    assert [r.type for r in run.resources if r.custom] == []
