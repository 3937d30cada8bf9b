"""The explicit physical names a recorded run asks the clouds for, keyed by where they must be unique.

A physical name is an input that names the real object: two programs in one AWS account, GCP
project or Kubernetes cluster that register the same key would fight over one object. A name is
scoped by the inputs that place it (an IAM role policy's name is unique per role, a database's per
instance, a k8s object's per namespace), so those inputs are part of the key. Auto-named resources
(no name input) get a random suffix from Pulumi and are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from tests.harness.program import ProgramRun

# Inputs that name a cloud object (the recorded inputs of the three targets hold these).
NAME_FIELDS = (
    "name",
    "bucket",
    "identifier",
    "finalSnapshotIdentifier",
    "clusterIdentifier",
    "replicationGroupId",
    "accountId",
    "serviceId",
    "secretId",
    "repositoryId",
    "family",
    "alarmName",
    "dashboardName",
    "roleId",
    "functionName",
)
# Inputs that say where a name lives: the same name under another scope is another object.
SCOPE_FIELDS = (
    "project",
    "region",
    "location",
    "role",
    "instance",
    "cluster",
    "loadBalancerArn",
    "listenerArn",
    "hostedZoneId",
    "zoneId",
    "managedZone",
    "groupName",
    "secret",
    "repository",
    "service",
    "type",  # Route 53 record: a name holds one record per type
)

# Resources that point at another object by its name (IAM grants, versions, attachments) name
# nothing themselves.
REFERENCE_KINDS = re.compile(r"(Iam|IAM)(Member|Binding|Policy)$|Attachment$|Version$|Association$")

# Fields that name the object only on these kinds; elsewhere they point at one (a bucket's
# policy has `bucket`) or mean something else (an RDS parameter group's `family` is the engine).
ONLY_ON_KINDS = {
    "bucket": {"Bucket", "BucketV2"},
    "family": {"TaskDefinition"},
    "secretId": {"Secret"},
    "repositoryId": {"Repository"},
}

PhysicalName = tuple[str, tuple[tuple[str, str], ...], str, str]  # type, scope, field, value


def physical_names(run: ProgramRun) -> list[PhysicalName]:
    """Every explicit physical name `run` registered (duplicates kept: they are collisions)."""
    found: list[PhysicalName] = []
    for resource in run.resources:
        if not resource.custom or REFERENCE_KINDS.search(resource.type.rsplit(":", 1)[-1]):
            continue
        if resource.type.startswith("kubernetes:"):
            found.extend(_kubernetes_name(resource.type, resource.inputs))
            continue
        scope = tuple(
            (field, _text(resource.inputs[field])) for field in SCOPE_FIELDS if field in resource.inputs
        )
        # A Cloud Map service's name is unique within its namespace, named inside its DNS config.
        namespace = (resource.inputs.get("dnsConfig") or {}).get("namespaceId")
        if namespace:
            scope += (("namespaceId", _text(namespace)),)
        kind = resource.type.rsplit(":", 1)[-1]
        for field in NAME_FIELDS:
            if field in ONLY_ON_KINDS and kind not in ONLY_ON_KINDS[field]:
                continue
            value = resource.inputs.get(field)
            if isinstance(value, str) and value:
                found.append((resource.type, scope, field, value))
    return found


def collisions(names: list[PhysicalName]) -> list[PhysicalName]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def describe(name: PhysicalName) -> str:
    type_token, scope, field, value = name
    where = ", ".join(f"{k}={v}" for k, v in scope)
    return f"{type_token} {field}={value!r}" + (f" ({where})" if where else "")


def _kubernetes_name(type_token: str, inputs: dict[str, Any]) -> list[PhysicalName]:
    metadata = inputs.get("metadata")
    if type_token.startswith("kubernetes:helm.sh/"):  # a Helm release: name and namespace are inputs
        metadata = {"name": inputs.get("name"), "namespace": inputs.get("namespace")}
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not isinstance(metadata, dict):
        return []
    namespace = metadata.get("namespace")
    scope: tuple[tuple[str, str], ...] = (("namespace", str(namespace)),) if namespace else ()
    return [(type_token, scope, "metadata.name", name)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
