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
    arn = ARN_FORMATS.get(kind, "arn:aws:{module}:{region}:{account}:{kind}/{name}").format(
        module=module, region=AWS_REGION, account=ACCOUNT, kind=kind.lower(), name=resource_name
    )
    # EC2-style ids carry a type prefix and 17 hex digits; most others are their name.
    prefix = {"Vpc": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "InternetGateway": "igw",
              "NatGateway": "nat", "Eip": "eipalloc", "RouteTable": "rtb"}.get(kind)  # fmt: skip
    resource_id = f"{prefix}-{digest(type_token, name, length=17)}" if prefix else resource_name
    if kind in ("Secret", "LogGroup", "Role", "Topic", "Repository", "Certificate"):
        resource_id = arn if kind in ("Secret", "Topic", "Certificate") else resource_name
    computed: dict[str, Any] = {"arn": arn, "name": resource_name, "id": resource_id}
    extra = AWS_OUTPUTS.get(kind)
    if extra is not None:
        computed.update(extra(name, resource_name, inputs))
    return resource_id, computed


ARN_FORMATS = {
    "Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf",
    "Role": "arn:aws:iam::{account}:role/{name}",
    "LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "Topic": "arn:aws:sns:{region}:{account}:{name}",
    "Bucket": "arn:aws:s3:::{name}",
    "Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "Certificate": "arn:aws:acm:{region}:{account}:certificate/0f0e0d0c-0b0a-0908-0706-050403020100",
    "LoadBalancer": "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}/50dc6c49",
    "TargetGroup": "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name}/73e2d6bc",
    "TaskDefinition": "arn:aws:ecs:{region}:{account}:task-definition/{name}:1",
    "Cluster": "arn:aws:ecs:{region}:{account}:cluster/{name}",
}

AWS_OUTPUTS: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {
    "Instance": lambda name, rn, i: {  # RDS
        "identifier": rn, "address": f"{rn}.c1a2b3c4d5e6.{AWS_REGION}.rds.amazonaws.com", "port": 5432,
        "endpoint": f"{rn}.c1a2b3c4d5e6.{AWS_REGION}.rds.amazonaws.com:5432"},
    "ReplicationGroup": lambda name, rn, i: {
        "id": rn, "primaryEndpointAddress": f"master.{rn}.abc123.use1.cache.amazonaws.com", "port": 6379},
    "LoadBalancer": lambda name, rn, i: {
        "dnsName": f"{rn}-1234567890.{AWS_REGION}.elb.amazonaws.com", "zoneId": "Z35SXDOTRQ7X7K",
        "arnSuffix": f"app/{rn}/50dc6c495c0c9188"},
    "TargetGroup": lambda name, rn, i: {"arnSuffix": f"targetgroup/{rn}/73e2d6bc24d8a067"},
    "Certificate": lambda name, rn, i: {"domainValidationOptions": [{
        "domainName": i.get("domainName"), "resourceRecordName": f"_a1b2c3.{i.get('domainName')}.",
        "resourceRecordType": "CNAME", "resourceRecordValue": "_d4e5f6.acm-validations.aws."}]},
    "Record": lambda name, rn, i: {"fqdn": str(i.get("name", rn)).rstrip(".")},
    "TaskDefinition": lambda name, rn, i: {
        "arnWithoutRevision": f"arn:aws:ecs:{AWS_REGION}:{ACCOUNT}:task-definition/{i.get('family', rn)}",
        "arn": f"arn:aws:ecs:{AWS_REGION}:{ACCOUNT}:task-definition/{i.get('family', rn)}:1", "revision": 1},
    "Repository": lambda name, rn, i: {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com/{rn}", "registryId": ACCOUNT},
    "Bucket": lambda name, rn, i: {"bucket": rn, "arn": f"arn:aws:s3:::{rn}"},
    "Service": lambda name, rn, i: {"name": rn},
    # Secrets Manager makes a new version id for each new value: what rolls a task definition.
    "SecretVersion": lambda name, rn, i: {
        "versionId": digest("secret-version", str(i.get("secretString", "")), length=32)},
}  # fmt: skip


def _docker(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    repository = str(inputs.get("imageName", name)).rsplit(":", 1)[0]
    repo_digest = f"{repository}@sha256:{digest(type_token, name, str(inputs.get('imageName')))}"
    return repo_digest, {"repoDigest": repo_digest, "imageName": inputs.get("imageName")}


def _gcp(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    _, module, kind = token_parts(type_token)
    resource_name = inputs.get("name") or f"{name}-{digest(type_token, name, length=7)}"
    project = inputs.get("project") or GCP_PROJECT
    collection = kind[0].lower() + kind[1:] + "s"
    resource_id = f"projects/{project}/locations/{GCP_REGION}/{collection}/{resource_name}"
    self_link = f"https://www.googleapis.com/{module}/v1/{resource_id}"
    computed: dict[str, Any] = {
        "name": resource_name,
        "selfLink": self_link,
        "project": project,
        "id": resource_id,
    }
    extra = GCP_OUTPUTS.get(kind)
    if extra is not None:
        computed.update(extra(resource_name, project, inputs))
    return computed["id"], computed


MOCK_CA = "-----BEGIN CERTIFICATE-----\nTU9DSyBDQSBmb3IgdGVzdHMgb25seQ==\n-----END CERTIFICATE-----\n"
# Memorystore lists two server CAs while one rotates: the server must get both.
MOCK_NEXT_CA = "-----BEGIN CERTIFICATE-----\nTU9DSyBuZXh0IENBIGZvciB0ZXN0cw==\n-----END CERTIFICATE-----\n"

GCP_OUTPUTS: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {
    "Account": lambda rn, project, i: {
        "email": (email := f"{i.get('accountId', rn)}@{project}.iam.gserviceaccount.com"),
        "id": f"projects/{project}/serviceAccounts/{email}"},
    "DatabaseInstance": lambda rn, project, i: {
        "privateIpAddress": "10.20.0.3", "connectionName": f"{project}:{GCP_REGION}:{rn}", "id": rn},
    "Instance": lambda rn, project, i: {  # Memorystore
        "host": "10.20.16.4", "port": 6378, "authString": "mock-memorystore-auth-not-a-credential",
        "serverCaCerts": [{"cert": MOCK_CA}, {"cert": MOCK_NEXT_CA}],
        "id": f"projects/{project}/locations/{GCP_REGION}/instances/{rn}"},
    "Secret": lambda rn, project, i: {"id": f"projects/{project}/secrets/{i.get('secretId', rn)}"},
    # Secret Manager numbers versions 1, 2, ...: a container that pins one must read `version`.
    "SecretVersion": lambda rn, project, i: {"version": "1", "name": f"{i.get('secret')}/versions/1"},
    "GlobalAddress": lambda rn, project, i: {"address": "203.0.113.10"},
    # "Service" is also projects.Service (an API); only a Cloud Run service has a template and a uri.
    "Service": lambda rn, project, i: {"uri": cloud_run_uri(rn)} if "template" in i else {},
    "Bucket": lambda rn, project, i: {"url": f"gs://{rn}", "id": rn},
}  # fmt: skip


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


def cloud_run_uri(name: str) -> str:
    """A Cloud Run service's `uri`: https://<name>-<hash>-<region code>.a.run.app."""
    return f"https://{name}-{digest('run', name, length=10)}-uc.a.run.app"


# Plainly not a key: a PEM frame around the words "MOCK key for tests only".
MOCK_PEM = "-----BEGIN PRIVATE KEY-----\nTU9DSyBrZXkgZm9yIHRlc3RzIG9ubHk=\n-----END PRIVATE KEY-----\n"


def _tls(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return f"{name}-id", {"privateKeyPem": MOCK_PEM, "privateKeyPemPkcs8": MOCK_PEM, "publicKeyPem": ""}


PROVIDERS: dict[str, Callable[[str, str, dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "aws": _aws,
    "gcp": _gcp,
    "kubernetes": _kubernetes,
    "random": _random,
    "docker": _docker,
    "tls": _tls,
}

# Provider functions (invokes) the program may call, answered as the cloud would.
CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
        "userId": "AIDAMOCK",
    },
    "aws:index/getRegion:getRegion": lambda _: {"name": AWS_REGION, "region": AWS_REGION, "id": AWS_REGION},
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda args: {
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com",
        "userName": "AWS",
        "password": "mock-registry-token-not-a-credential",
        "authorizationToken": "bW9jaw==",
        "expiresAt": "2099-01-01T00:00:00Z",
        "id": ACCOUNT,
        "registryId": args.get("registryId"),
    },
    "docker:index/getRegistryImage:getRegistryImage": lambda args: {
        "name": args.get("name"),
        "sha256Digest": "sha256:" + digest("prebuilt", str(args.get("name"))),
    },
    "aws:index/getPartition:getPartition": lambda _: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _: {
        "names": [f"{AWS_REGION}{zone}" for zone in "abcdef"],
        "zoneIds": [f"use1-az{n}" for n in range(1, 7)],
    },
    # An existing VPC: DNS support and hostnames on, unless its id says which is off
    # (vpc-...-dns-hostnames-off, vpc-...-dns-off for both), as the program must refuse those.
    "aws:ec2/getVpc:getVpc": lambda args: {
        "id": args["id"],
        "arn": f"arn:aws:ec2:{AWS_REGION}:{ACCOUNT}:vpc/{args['id']}",
        "cidrBlock": "10.20.0.0/16",
        "enableDnsSupport": not str(args["id"]).endswith("-dns-off"),
        "enableDnsHostnames": not str(args["id"]).endswith(("-dns-off", "-dns-hostnames-off")),
        "state": "available",
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
        # No check failures: an empty list, not None, which MockMonitor would try to iterate.
        return answer(args.args), []
