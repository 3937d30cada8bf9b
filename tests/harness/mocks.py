"""Mocks that answer like the real providers: ids and computed outputs in each cloud's format.

Everything is derived from the resource's type and name, so two runs of the same program give
byte-identical plans. A provider function with no mock here fails the run by name rather than
quietly returning nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pulumi

ACCOUNT = "123456789012"
AWS_REGION = "us-east-1"
GCP_PROJECT = "mcp-deploy-test"
GCP_REGION = "us-central1"


def digest(*parts: str, length: int = 64) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def token_parts(type_token: str) -> tuple[str, str, str]:
    """`aws:ecs/service:Service` -> ("aws", "ecs", "Service")."""
    package, module, kind = type_token.split(":")
    return package, module.split("/")[0], kind


def _aws(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    _, module, kind = token_parts(type_token)
    resource_name = inputs.get("name") or f"{name}-{digest(type_token, name, length=7)}"
    arn = f"arn:aws:{module}:{AWS_REGION}:{ACCOUNT}:{kind.lower()}/{resource_name}"
    # EC2-style ids carry a type prefix and 17 hex digits; most others are their name or ARN.
    prefix = {
        "Vpc": "vpc",
        "Subnet": "subnet",
        "SecurityGroup": "sg",
        "InternetGateway": "igw",
        "NatGateway": "nat",
        "Eip": "eipalloc",
        "RouteTable": "rtb",
    }.get(kind)
    resource_id = f"{prefix}-{digest(type_token, name, length=17)}" if prefix else resource_name
    return resource_id, {"arn": arn, "name": resource_name, "id": resource_id}


def _gcp(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    _, module, kind = token_parts(type_token)
    resource_name = inputs.get("name") or f"{name}-{digest(type_token, name, length=7)}"
    collection = kind[0].lower() + kind[1:] + "s"
    resource_id = f"projects/{GCP_PROJECT}/locations/{GCP_REGION}/{collection}/{resource_name}"
    self_link = f"https://www.googleapis.com/{module}/v1/{resource_id}"
    return resource_id, {"name": resource_name, "selfLink": self_link, "project": GCP_PROJECT}


def _kubernetes(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    metadata = dict(inputs.get("metadata") or {})
    # Like the provider: an unnamed object gets its Pulumi name plus a random suffix.
    metadata.setdefault("name", f"{name}-{digest(type_token, name, length=8)}")
    namespace = metadata.get("namespace")
    resource_id = f"{namespace}/{metadata['name']}" if namespace else metadata["name"]
    return resource_id, {"metadata": metadata}


def _random(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    length = int(inputs.get("length") or inputs.get("byteLength") or 16)
    value = digest(type_token, name, length=length)
    if type_token.endswith(("RandomPassword", "RandomString")):
        return "none", {"result": value}
    return value, {"hex": value, "b64Url": value, "b64Std": value, "dec": str(int(value, 16))}


PROVIDERS: dict[str, Callable[[str, str, dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "aws": _aws,
    "gcp": _gcp,
    "kubernetes": _kubernetes,
    "random": _random,
}

# Provider functions (invokes) the program may call, answered as the cloud would.
CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
        "userId": "AIDAMOCK",
    },
    "aws:index/getRegion:getRegion": lambda _: {"name": AWS_REGION, "region": AWS_REGION},
    "aws:index/getPartition:getPartition": lambda _: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _: {
        "names": [f"{AWS_REGION}{zone}" for zone in "abcdef"],
        "zoneIds": [f"use1-az{n}" for n in range(1, 7)],
    },
    "gcp:organizations/getProject:getProject": lambda _: {
        "projectId": GCP_PROJECT,
        "number": "123456789012",
        "name": GCP_PROJECT,
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda _: {
        "project": GCP_PROJECT,
        "region": GCP_REGION,
        "zone": f"{GCP_REGION}-a",
    },
}


class UnmockedCallError(Exception):
    pass


class RealisticMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:  # a component: nothing for a provider to compute
            return None, {}
        package = token_parts(args.typ)[0] if args.typ.count(":") == 2 else ""
        answer = PROVIDERS.get(package)
        if answer is None:
            return f"{args.name}-id", dict(args.inputs)
        resource_id, computed = answer(args.typ, args.name, args.inputs)
        return resource_id, {**args.inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = CALLS.get(args.token)
        if answer is None:
            raise UnmockedCallError(
                f"no mock for provider function {args.token}; add one to tests/harness/mocks.py"
            )
        return answer(args.args), None
