"""Ordering: what each workload of a recorded run must have in its transitive dependencies.

A workload (ECS service or task definition, Cloud Run service or job, Deployment or CronJob) can
only start once the secret *versions* it reads, the IAM grants of its identity, the data-tier
endpoints it connects to and (on AWS) the routes of its private subnets exist. Mocks cannot see a
race against a real API, so this reads the dependency edges the engine would get.

What a workload *uses* is worked out from its recorded inputs (ARNs, secret names, service
account, subnets, and the hosts of the URLs in its env and in the secrets it references), never
from resource names. Its dependencies are the explicit `depends_on` plus the property
dependencies, transitively; a dependency on a component counts as one on all its descendants, as
Pulumi orders them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from tests.harness.monitor import Registration
from tests.harness.program import ProgramRun

WORKLOAD_TYPES = {
    "aws:ecs/service:Service",
    "aws:ecs/taskDefinition:TaskDefinition",
    "gcp:cloudrunv2/service:Service",
    "gcp:cloudrunv2/job:Job",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:batch/v1:CronJob",
}
GRANT_KIND = re.compile(r"(Iam|IAM)(Member|Binding)$")
URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"',;]+", re.IGNORECASE)


@dataclass(frozen=True)
class Requirement:
    urn: str
    reason: str


@dataclass(frozen=True)
class Missing:
    workload: Registration
    requirements: tuple[Requirement, ...]


# --- the dependency graph ---------------------------------------------------------------------------


def direct_dependencies(resource: Registration) -> set[str]:
    found = set(resource.dependencies)
    for urns in resource.property_dependencies.values():
        found.update(urns)
    return found


def transitive_dependencies(run: ProgramRun, resource: Registration) -> set[str]:
    """Every URN `resource` waits for: its dependencies, theirs, and so on, components expanded."""
    by_urn = {r.urn: r for r in run.resources}
    children: dict[str, list[str]] = {}
    for r in run.resources:
        if r.parent:
            children.setdefault(r.parent, []).append(r.urn)
    seen: set[str] = set()
    pending = list(direct_dependencies(resource))
    while pending:
        urn = pending.pop()
        if urn in seen:
            continue
        seen.add(urn)
        found = by_urn.get(urn)
        if found is None:
            continue
        if not found.custom:  # a component: all of its descendants (not a custom's children)
            pending.extend(children.get(urn, ()))
        pending.extend(direct_dependencies(found))
    return seen


def without_edge(run: ProgramRun, source: str, target: str) -> ProgramRun:
    """`run` as if `source` had neither a `depends_on` nor a property dependency on `target`."""
    return without_edges(run, lambda r: r.urn == source, target)


def without_edges_into(run: ProgramRun, target: str) -> ProgramRun:
    """`run` as if nothing depended on `target`."""
    return without_edges(run, lambda r: True, target)


def without_edges(run: ProgramRun, which: Any, target: str) -> ProgramRun:
    def drop(r: Registration) -> Registration:
        if not which(r):
            return r
        return replace(
            r,
            dependencies=tuple(u for u in r.dependencies if u != target),
            property_dependencies={
                key: tuple(u for u in urns if u != target) for key, urns in r.property_dependencies.items()
            },
        )

    return replace(run, resources=[drop(r) for r in run.resources])


# --- the check --------------------------------------------------------------------------------------


def workloads(run: ProgramRun) -> list[Registration]:
    return [r for r in run.resources if r.type in WORKLOAD_TYPES]


def missing_dependencies(run: ProgramRun) -> list[Missing]:
    found = []
    for workload in workloads(run):
        have = transitive_dependencies(run, workload)
        lacking = tuple(req for req in requirements(run, workload) if req.urn not in have)
        if lacking:
            found.append(Missing(workload, lacking))
    return found


def describe(run: ProgramRun, missing: list[Missing]) -> str:
    by_urn = {r.urn: r for r in run.resources}
    lines = [f"{run.stack}/{run.target}: workloads that could start before what they use exists:"]
    for item in missing:
        lines.append(f"  {item.workload.type} {item.workload.name} needs a dependency on:")
        for req in item.requirements:
            target = by_urn[req.urn]
            lines.append(f"    - {target.type} {target.name}  ({req.reason})")
    return "\n".join(lines)


def requirements(run: ProgramRun, workload: Registration) -> list[Requirement]:
    """What `workload` uses at start, from its inputs; deduplicated, in a stable order."""
    package = workload.type.split(":", 1)[0]
    found = {"aws": _aws, "gcp": _gcp, "kubernetes": _kubernetes}[package](run, workload)
    unique: dict[str, Requirement] = {}
    for req in found:
        if req.urn != workload.urn:
            unique.setdefault(req.urn, req)
    return sorted(unique.values(), key=lambda r: r.urn)


# --- AWS --------------------------------------------------------------------------------------------


def _aws(run: ProgramRun, workload: Registration) -> Iterator[Requirement]:
    task_definitions = (
        [workload]
        if workload.type == "aws:ecs/taskDefinition:TaskDefinition"
        else [
            td
            for td in run.of_type("aws:ecs/taskDefinition:TaskDefinition")
            if _state(td, "arn") and _state(td, "arn") in _strings(workload.inputs.get("taskDefinition"))
        ]
    )
    texts: list[str] = []
    for task in task_definitions:
        containers = _json(task.inputs.get("containerDefinitions")) or []
        references = [
            ref
            for container in containers
            for ref in [
                *(s.get("valueFrom", "") for s in container.get("secrets") or []),
                (container.get("repositoryCredentials") or {}).get("credentialsParameter", ""),
            ]
            if ref
        ]
        for version in run.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
            secret = str(version.inputs.get("secretId", ""))
            if secret and any(ref.startswith(secret) for ref in references):
                yield Requirement(
                    version.urn, f"secret version of {secret.rsplit(':', 1)[-1]}, read at start"
                )
                texts.extend(_strings(version.inputs.get("secretString")))
        texts.extend(_strings([c.get("environment") for c in containers]))
        for field in ("executionRoleArn", "taskRoleArn"):
            yield from _aws_role_policies(run, str(task.inputs.get(field) or ""), field)
    yield from _aws_data(run, _hosts(texts))
    yield from _aws_routes(run, workload)
    if workload.type == "aws:ecs/service:Service":
        yield from _aws_service_connect(run, workload, _hosts(texts))


def _aws_service_connect(run: ProgramRun, workload: Registration, hosts: set[str]) -> Iterator[Requirement]:
    """A Service Connect name its tasks use must be published before they start: "Existing tasks
    can't resolve and connect to the new endpoint" (ECS, Service Connect components)."""
    for service in run.of_type("aws:ecs/service:Service"):
        published = (service.inputs.get("serviceConnectConfiguration") or {}).get("services") or []
        aliases = {a.get("dnsName") for p in published for a in p.get("clientAlias") or []}
        for alias in sorted(aliases & hosts):
            yield Requirement(service.urn, f"Service Connect endpoint {alias} its tasks call")


def _aws_role_policies(run: ProgramRun, role_arn: str, field: str) -> Iterator[Requirement]:
    if not role_arn:
        return
    roles = [r for r in run.of_type("aws:iam/role:Role") if _state(r, "arn") == role_arn]
    handles = {role_arn} | {h for r in roles for h in (_state(r, "name"), _state(r, "id"), r.urn) if h}
    for kind in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        for policy in run.of_type(kind):
            if str(policy.inputs.get("role", "")) in handles:
                yield Requirement(policy.urn, f"policy of the role in {field}")


def _aws_data(run: ProgramRun, hosts: set[str]) -> Iterator[Requirement]:
    endpoints = {
        "aws:rds/instance:Instance": ("address", "endpoint"),
        "aws:rds/cluster:Cluster": ("endpoint", "readerEndpoint"),
        "aws:elasticache/replicationGroup:ReplicationGroup": (
            "primaryEndpointAddress",
            "readerEndpointAddress",
            "configurationEndpointAddress",
        ),
    }
    for kind, fields in endpoints.items():
        for resource in run.of_type(kind):
            names = {str(_state(resource, f)).split(":")[0] for f in fields if _state(resource, f)}
            if names & hosts:
                yield Requirement(
                    resource.urn, f"data endpoint {sorted(names & hosts)[0]} in its env or secrets"
                )


def _aws_routes(run: ProgramRun, workload: Registration) -> Iterator[Requirement]:
    """A service in subnets of a VPC this program creates needs their route tables and routes."""
    subnets = set(_strings((workload.inputs.get("networkConfiguration") or {}).get("subnets")))
    if not subnets or not run.of_type("aws:ec2/vpc:Vpc"):
        return
    tables: set[str] = set()
    for association in run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        if association.inputs.get("subnetId") in subnets:
            yield Requirement(association.urn, "route table association of one of its subnets")
            tables.add(str(association.inputs.get("routeTableId")))
    nats: set[str] = set()
    for table in run.of_type("aws:ec2/routeTable:RouteTable"):
        if table.id in tables or _state(table, "id") in tables:
            yield Requirement(table.urn, "route table of one of its subnets")
            nats.update(
                str(r.get("natGatewayId")) for r in table.inputs.get("routes") or [] if r.get("natGatewayId")
            )
    for route in run.of_type("aws:ec2/route:Route"):
        if route.inputs.get("routeTableId") in tables:
            yield Requirement(route.urn, "route of one of its subnets")
            if route.inputs.get("natGatewayId"):
                nats.add(str(route.inputs["natGatewayId"]))
    for nat in run.of_type("aws:ec2/natGateway:NatGateway"):
        if nat.id in nats:
            yield Requirement(nat.urn, "NAT gateway its subnets route through")


# --- GCP --------------------------------------------------------------------------------------------


def _gcp(run: ProgramRun, workload: Registration) -> Iterator[Requirement]:
    template = workload.inputs.get("template") or {}
    if workload.type == "gcp:cloudrunv2/job:Job":
        template = template.get("template") or {}
    containers = template.get("containers") or []
    envs = [e for c in containers for e in [*(c.get("envs") or []), *(c.get("env") or [])]]
    references = {
        str(((e.get("valueSource") or {}).get("secretKeyRef") or {}).get("secret"))
        for e in envs
        if ((e.get("valueSource") or {}).get("secretKeyRef") or {}).get("secret")
    } | {
        str(v["secret"]["secret"])
        for v in template.get("volumes") or []
        if (v.get("secret") or {}).get("secret")
    }
    texts = _strings([e.get("value") for e in envs])
    for version in run.of_type("gcp:secretmanager/secretVersion:SecretVersion"):
        secret = str(version.inputs.get("secret", ""))
        if any(_same_gcp_secret(secret, ref) for ref in references):
            yield Requirement(version.urn, f"secret version of {secret.rsplit('/', 1)[-1]}, read at start")
            texts.extend(_strings(version.inputs.get("secretData")))
    account = str(template.get("serviceAccount") or "")
    if account:
        member = f"serviceAccount:{account}"
        for grant in run.resources:
            if GRANT_KIND.search(grant.type) and member in _strings(
                [grant.inputs.get("member"), grant.inputs.get("members")]
            ):
                yield Requirement(grant.urn, f"IAM grant to its service account ({grant.inputs.get('role')})")
    sql_sockets = {
        i
        for v in template.get("volumes") or []
        for i in (v.get("cloudSqlInstance") or {}).get("instances") or []
    }
    yield from _gcp_data(run, _urls(texts), sql_sockets)


def _same_gcp_secret(secret: str, reference: str) -> bool:
    """A secret is named by its id (`name`) or its path (`projects/p/secrets/name`)."""
    short = secret.rsplit("/", 1)[-1]
    return reference in (secret, short) or (reference.rsplit("/", 1)[-1] == short and "/" in reference)


def _gcp_data(run: ProgramRun, urls: list[Any], sockets: set[str]) -> Iterator[Requirement]:
    hosts = {u.hostname for u in urls if u.hostname}
    used_instances: set[str] = set()
    for instance in run.of_type("gcp:sql/databaseInstance:DatabaseInstance"):
        addresses = {_state(instance, f) for f in ("privateIpAddress", "publicIpAddress")} - {None, ""}
        connection = _state(instance, "connectionName")
        if addresses & hosts or (
            connection and (connection in sockets or any(connection in str(u.geturl()) for u in urls))
        ):
            used_instances.add(str(instance.inputs.get("name") or _state(instance, "name")))
            yield Requirement(instance.urn, "Cloud SQL instance in its database URL")
    users = {(u.username or "") for u in urls if u.hostname} - {""}
    databases = {u.path.lstrip("/") for u in urls if u.hostname} - {""}
    for user in run.of_type("gcp:sql/user:User"):
        if user.inputs.get("instance") in used_instances and user.inputs.get("name") in users:
            yield Requirement(user.urn, "database role in its database URL")
    for database in run.of_type("gcp:sql/database:Database"):
        if database.inputs.get("instance") in used_instances and database.inputs.get("name") in databases:
            yield Requirement(database.urn, "database in its database URL")
    for redis in run.of_type("gcp:redis/instance:Instance"):
        if {_state(redis, "host"), _state(redis, "readEndpoint")} & hosts:
            yield Requirement(redis.urn, "Memorystore instance in its Redis URL")


# --- Kubernetes -------------------------------------------------------------------------------------


def _kubernetes(run: ProgramRun, workload: Registration) -> Iterator[Requirement]:
    namespace = str((workload.inputs.get("metadata") or {}).get("namespace") or "default")
    spec = workload.inputs.get("spec") or {}
    if workload.type == "kubernetes:batch/v1:CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    containers = [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]
    secrets, config_maps = _k8s_references(pod, containers)
    texts = _strings([e.get("value") for c in containers for e in c.get("env") or []])
    for kind, names in (
        ("kubernetes:core/v1:Secret", secrets),
        ("kubernetes:core/v1:ConfigMap", config_maps),
    ):
        for obj in run.of_type(kind):
            if _k8s_key(obj) in {(namespace, n) for n in names}:
                yield Requirement(obj.urn, f"{kind.rsplit(':', 1)[-1]} it reads at start")
                texts.extend(_k8s_values(obj))
    account = pod.get("serviceAccountName")
    if account:
        yield from _k8s_identity(run, namespace, str(account))
    yield from _k8s_data(run, namespace, _urls(texts), workload)


def _k8s_references(pod: dict[str, Any], containers: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    secrets: set[str] = {str(s.get("name")) for s in pod.get("imagePullSecrets") or []}
    config_maps: set[str] = set()
    for container in containers:
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            secrets.update(_strings((source.get("secretKeyRef") or {}).get("name")))
            config_maps.update(_strings((source.get("configMapKeyRef") or {}).get("name")))
        for env in container.get("envFrom") or []:
            secrets.update(_strings((env.get("secretRef") or {}).get("name")))
            config_maps.update(_strings((env.get("configMapRef") or {}).get("name")))
    for volume in pod.get("volumes") or []:
        secrets.update(_strings((volume.get("secret") or {}).get("secretName")))
        config_maps.update(_strings((volume.get("configMap") or {}).get("name")))
        for source in (volume.get("projected") or {}).get("sources") or []:
            secrets.update(_strings((source.get("secret") or {}).get("name")))
            config_maps.update(_strings((source.get("configMap") or {}).get("name")))
    return secrets, config_maps


def _k8s_identity(run: ProgramRun, namespace: str, account: str) -> Iterator[Requirement]:
    for obj in run.of_type("kubernetes:core/v1:ServiceAccount"):
        if _k8s_key(obj) == (namespace, account):
            yield Requirement(obj.urn, "its ServiceAccount")
    for kind in ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
                 "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"):  # fmt: skip
        for binding in run.of_type(kind):
            for subject in binding.inputs.get("subjects") or []:
                if (
                    subject.get("kind") == "ServiceAccount"
                    and subject.get("name") == account
                    and (subject.get("namespace") or _k8s_key(binding)[0]) == namespace
                ):
                    yield Requirement(binding.urn, "role binding of its ServiceAccount")


def _k8s_data(
    run: ProgramRun, namespace: str, urls: list[Any], workload: Registration
) -> Iterator[Requirement]:
    services = {_k8s_service(u.hostname, namespace) for u in urls if u.hostname}
    databases = {u.path.lstrip("/") for u in urls if u.hostname} - {""}
    for cluster in run.of_type("kubernetes:postgresql.cnpg.io/v1:Cluster"):
        ns, name = _k8s_key(cluster)
        if {(ns, f"{name}-{suffix}") for suffix in ("rw", "ro", "r")} & services:
            yield Requirement(cluster.urn, "CNPG cluster in its database URL")
            for database in run.of_type("kubernetes:postgresql.cnpg.io/v1:Database"):
                spec = database.inputs.get("spec") or {}
                if (spec.get("cluster") or {}).get("name") == name and spec.get("name") in databases:
                    yield Requirement(database.urn, "CNPG database in its database URL")
    for service in run.of_type("kubernetes:core/v1:Service"):
        if _k8s_key(service) not in services:
            continue
        yield Requirement(service.urn, "Service in its env or secrets")
        selector = (service.inputs.get("spec") or {}).get("selector") or {}
        for kind in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"):
            for backend in run.of_type(kind):
                labels = (
                    ((backend.inputs.get("spec") or {}).get("template") or {}).get("metadata") or {}
                ).get("labels") or {}
                if (
                    backend.urn != workload.urn
                    and _k8s_key(backend)[0] == _k8s_key(service)[0]
                    and selector
                    and selector.items() <= labels.items()
                    # Two workloads that call each other (the gateway forwards to a server, the
                    # server fetches the gateway's keys) cannot both wait: the one that waits for
                    # this workload is not required back. Its Service still is.
                    and workload.urn not in transitive_dependencies(run, backend)
                ):
                    yield Requirement(
                        backend.urn, f"{kind.rsplit(':', 1)[-1]} behind a Service it connects to"
                    )


def _k8s_service(host: str, namespace: str) -> tuple[str, str]:
    """`name`, `name.ns`, `name.ns.svc[.cluster.local]` -> (namespace, name)."""
    parts = host.split(".")
    return (
        (parts[1], parts[0])
        if len(parts) > 1 and (len(parts) == 2 or parts[2] == "svc")
        else (namespace, parts[0])
    )


def _k8s_key(obj: Registration) -> tuple[str, str]:
    metadata = obj.state.get("metadata") or obj.inputs.get("metadata") or {}
    return str(metadata.get("namespace") or "default"), str(metadata.get("name"))


def _k8s_values(obj: Registration) -> list[str]:
    values = _strings(obj.inputs.get("stringData"))
    for encoded in _strings(obj.inputs.get("data")):
        try:
            values.append(base64.b64decode(encoded, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError):
            values.append(encoded)
    return values


# --- values -----------------------------------------------------------------------------------------


def _state(resource: Registration, key: str) -> Any:
    return resource.state.get(key, resource.inputs.get(key))


def _strings(value: Any) -> list[str]:
    """Every string inside a recorded value (JSON text is searched as it is)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _urls(texts: Iterable[str]) -> list[Any]:
    found = []
    for text in texts:
        for match in URL.findall(text):
            try:
                found.append(urlsplit(match))
            except ValueError:
                continue
    return found


def _hosts(texts: Iterable[str]) -> set[str]:
    hosts = {u.hostname for u in _urls(texts) if u.hostname}
    # Also bare `host:port` values (e.g. REDIS_HOST), which carry no scheme.
    for text in texts:
        for match in re.findall(r"\b([a-z0-9][a-z0-9.-]+\.[a-z]{2,})(?::\d+)?\b", text, re.IGNORECASE):
            hosts.add(match.lower())
    return hosts
