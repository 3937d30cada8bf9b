"""The guardrails, as plain functions over one resource: its type token, its inputs (the camelCase
props the engine sees) and whether it is protected. The CrossGuard pack (`__main__.py`) wraps
each rule for `pulumi preview --policy-pack`; the tests run the same functions over every
resource the program registers under mocks. One definition, two runners, no drift."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    remediation: str
    check: Callable[[Resource, bool], list[str]]  # (resource, production) -> problems


AWS_TLS_POLICIES = {
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|_KEY$|CREDENTIAL|DATABASE_URL|REDIS_URL)"
)
SECRET_VALUE = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@|-----BEGIN [A-Z ]*PRIVATE KEY-----")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
DATA_PORTS = {5432, 6379, 6378, 3306, 27017}


def _is_k8s(resource: Resource, *kinds: str) -> bool:
    return resource.type.startswith("kubernetes:") and resource.type.rsplit(":", 1)[1] in kinds


def _pod_spec(resource: Resource) -> Mapping[str, Any]:
    spec = resource.props.get("spec") or {}
    if resource.type.endswith(":CronJob"):
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def _k8s_containers(resource: Resource) -> Iterator[Mapping[str, Any]]:
    pod = _pod_spec(resource)
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def _ecs_containers(resource: Resource) -> list[Mapping[str, Any]]:
    raw = resource.props.get("containerDefinitions") or "[]"
    return json.loads(raw) if isinstance(raw, str) else list(raw)


# --- the rules --------------------------------------------------------------------------------


def no_public_buckets(resource: Resource, production: bool) -> list[str]:
    props = resource.props
    if resource.type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        off = [
            k
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            if props.get(k) is not True
        ]
        return [f"public access block leaves {', '.join(off)} off"] if off else []
    if resource.type in (
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketAcl:BucketAcl",
        "aws:s3/bucketAclV2:BucketAclV2",
    ):
        return (
            [f"ACL {props['acl']} makes the bucket public"]
            if str(props.get("acl", "")).startswith("public")
            else []
        )
    if resource.type == "aws:s3/bucketPolicy:BucketPolicy":
        return [f"bucket policy statement {sid} allows anyone" for sid in _public_allows(props.get("policy"))]
    if resource.type == "gcp:storage/bucket:Bucket":
        return (
            []
            if props.get("publicAccessPrevention") == "enforced"
            else ["public access prevention is not enforced"]
        )
    if resource.type in (
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "gcp:storage/bucketIAMBinding:BucketIAMBinding",
    ):
        members = {props.get("member"), *(props.get("members") or [])}
        public = sorted(m for m in members if m in PUBLIC_MEMBERS)
        return [f"grants {props.get('role')} to {', '.join(public)}"] if public else []
    return []


def _public_allows(policy: Any) -> list[str]:
    """Sids (or positions) of statements that Allow the anonymous principal without a condition.
    A policy still unknown at preview is a string or absent; only what can be read is judged."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    if not isinstance(policy, Mapping):
        return []
    statements = policy.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    public = []
    for index, statement in enumerate(statements):
        principal = statement.get("Principal")
        anyone = principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") in ("*", ["*"]))
        if statement.get("Effect") == "Allow" and anyone and not statement.get("Condition"):
            public.append(str(statement.get("Sid") or f"#{index}"))
    return public


def encryption_at_rest(resource: Resource, production: bool) -> list[str]:
    props = resource.props
    if resource.type == "aws:rds/instance:Instance" and props.get("storageEncrypted") is not True:
        return ["database storage is not encrypted"]
    if (
        resource.type == "aws:elasticache/replicationGroup:ReplicationGroup"
        and props.get("atRestEncryptionEnabled") is not True
    ):
        return ["cache is not encrypted at rest"]
    if (
        resource.type
        == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        rules = props.get("rules") or []
        algorithms = [
            ((r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")) for r in rules
        ]
        return (
            []
            if algorithms and all(a in ("aws:kms", "aws:kms:dsse", "AES256") for a in algorithms)
            else ["bucket has no default server-side encryption"]
        )
    return []


def no_public_database(resource: Resource, production: bool) -> list[str]:
    props = resource.props
    if resource.type == "aws:rds/instance:Instance" and props.get("publiclyAccessible") is True:
        return ["database is publicly accessible"]
    if resource.type == "gcp:sql/databaseInstance:DatabaseInstance":
        ip = ((props.get("settings") or {}).get("ipConfiguration")) or {}
        return ["database has a public IPv4 address"] if ip.get("ipv4Enabled", True) is not False else []
    if _is_k8s(resource, "Service"):
        spec = props.get("spec") or {}
        exposed = {p.get("port") for p in spec.get("ports") or []} & DATA_PORTS
        if spec.get("type") in ("LoadBalancer", "NodePort") and exposed:
            return [f"Service of type {spec['type']} exposes data port(s) {sorted(exposed)}"]
    return []


def tls_listeners(resource: Resource, production: bool) -> list[str]:
    props = resource.props
    if resource.type == "aws:lb/listener:Listener":
        if props.get("protocol") == "HTTPS":
            policy = props.get("sslPolicy")
            return (
                []
                if policy in AWS_TLS_POLICIES
                else [f"HTTPS listener uses {policy or 'the default'} policy"]
            )
        actions = props.get("defaultActions") or []
        redirects = all(
            a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
            for a in actions
        )
        return (
            []
            if actions and redirects
            else [f"{props.get('protocol')} listener serves traffic instead of redirecting to HTTPS"]
        )
    if resource.type == "gcp:compute/sSLPolicy:SSLPolicy":
        ok = props.get("profile") in ("MODERN", "RESTRICTED") and props.get("minTlsVersion") in (
            "TLS_1_2",
            "TLS_1_3",
        )
        return (
            [] if ok else [f"SSL policy {props.get('profile')}/{props.get('minTlsVersion')} allows old TLS"]
        )
    if resource.type == "gcp:compute/targetHttpsProxy:TargetHttpsProxy":
        return (
            []
            if props.get("sslPolicy")
            else ["HTTPS proxy has no SSL policy (Google's default allows TLS 1.0)"]
        )
    if resource.type == "gcp:compute/uRLMap:URLMap" and not props.get("pathMatchers"):
        redirect = props.get("defaultUrlRedirect") or {}
        return (
            []
            if redirect.get("httpsRedirect") or props.get("defaultService")
            else ["URL map neither serves nor redirects"]
        )
    if _is_k8s(resource, "Ingress"):
        return [] if (props.get("spec") or {}).get("tls") else ["Ingress has no TLS"]
    return []


def nonroot_readonly_containers(resource: Resource, production: bool) -> list[str]:
    problems: list[str] = []
    if resource.type == "aws:ecs/taskDefinition:TaskDefinition":
        for container in _ecs_containers(resource):
            user = str(container.get("user", "root")).split(":")[0]
            if user in ("root", "0", ""):
                problems.append(f"container {container.get('name')} runs as root")
            if container.get("readonlyRootFilesystem") is not True:
                problems.append(f"container {container.get('name')} has a writable root filesystem")
    if _is_k8s(resource, *WORKLOADS):
        pod_context = _pod_spec(resource).get("securityContext") or {}
        for container in _k8s_containers(resource):
            context = container.get("securityContext") or {}
            if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
                problems.append(f"container {container.get('name')} may run as root (runAsNonRoot unset)")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"container {container.get('name')} has a writable root filesystem")
    return problems


def no_plaintext_secrets(resource: Resource, production: bool) -> list[str]:
    pairs: list[tuple[str, Any]] = []
    if resource.type == "aws:ecs/taskDefinition:TaskDefinition":
        pairs = [
            (e.get("name", ""), e.get("value"))
            for c in _ecs_containers(resource)
            for e in c.get("environment") or []
        ]
    elif resource.type in ("gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/job:Job"):
        template = resource.props.get("template") or {}
        template = template.get("template", template)  # jobs nest one level deeper
        pairs = [
            (e.get("name", ""), e.get("value"))
            for c in template.get("containers") or []
            for e in c.get("envs") or []
        ]
    elif _is_k8s(resource, *WORKLOADS):
        pairs = [
            (e.get("name", ""), e.get("value")) for c in _k8s_containers(resource) for e in c.get("env") or []
        ]
    elif _is_k8s(resource, "ConfigMap"):
        pairs = list((resource.props.get("data") or {}).items())
    return [
        f"{name} is a plain value; pass it from the secret manager"
        for name, value in pairs
        if value is not None and (SECRET_NAME.search(name.upper()) or SECRET_VALUE.search(str(value)))
    ]


def log_retention(resource: Resource, production: bool) -> list[str]:
    if resource.type == "aws:cloudwatch/logGroup:LogGroup" and not resource.props.get("retentionInDays"):
        return ["log group keeps logs forever (no retentionInDays)"]
    return []


def production_protection(resource: Resource, production: bool) -> list[str]:
    if not production:
        return []
    props = resource.props
    problems: list[str] = []
    if resource.type == "aws:rds/instance:Instance":
        if props.get("deletionProtection") is not True:
            problems.append("database has no deletion protection")
        if props.get("skipFinalSnapshot", True) is not False:
            problems.append("database is deleted without a final snapshot")
    if resource.type == "gcp:sql/databaseInstance:DatabaseInstance":
        settings = props.get("settings") or {}
        if (
            props.get("deletionProtection") is not True
            or settings.get("deletionProtectionEnabled") is not True
        ):
            problems.append("database has no deletion protection")
        if ((settings.get("finalBackupConfig") or {}).get("enabled")) is not True:
            problems.append("database is deleted without a final backup")
    if resource.type == "kubernetes:postgresql.cnpg.io/v1:Cluster" and not resource.protect:
        problems.append("the database cluster is not protected from deletion (Pulumi protect)")
    return problems


def k8s_resources_and_probes(resource: Resource, production: bool) -> list[str]:
    if not _is_k8s(resource, *WORKLOADS):
        return []
    problems: list[str] = []
    batch = resource.type.endswith((":Job", ":CronJob"))
    for container in _k8s_containers(resource):
        name = container.get("name")
        resources = container.get("resources") or {}
        if not (resources.get("requests") or {}).get("memory") or not (resources.get("limits") or {}).get(
            "memory"
        ):
            problems.append(f"container {name} lacks memory requests or limits")
        if not (resources.get("requests") or {}).get("cpu"):
            problems.append(f"container {name} lacks a CPU request")
        if not batch:
            for probe in ("readinessProbe", "livenessProbe"):
                if not container.get(probe):
                    problems.append(f"container {name} has no {probe}")
    return problems


# The platform's one public service is named <...>-gateway (and its ECS container "gateway").
GATEWAY = re.compile(r"(^|-)gateway$")


def servers_behind_the_gateway(resource: Resource, production: bool) -> list[str]:
    """Only the gateway faces the internet: load balancers, public routes and public ingress
    settings may point at it alone. A server reached any other way skips central auth."""
    props = resource.props
    if resource.type == "aws:ecs/service:Service":
        problems = [
            f"the load balancer forwards to container {target.get('containerName')!r}, not the gateway"
            for target in props.get("loadBalancers") or []
            if target.get("containerName") != "gateway"
        ]
        if (props.get("networkConfiguration") or {}).get("assignPublicIp"):
            problems.append("its tasks get public IP addresses")
        return problems
    if resource.type == "gcp:cloudrunv2/service:Service":
        ingress = props.get("ingress") or "INGRESS_TRAFFIC_ALL"
        if ingress == "INGRESS_TRAFFIC_ALL":
            return ["ingress INGRESS_TRAFFIC_ALL: reachable from the internet, around the gateway"]
        if ingress != "INGRESS_TRAFFIC_INTERNAL_ONLY" and not GATEWAY.search(str(props.get("name", ""))):
            return [f"ingress {ingress} on a service that is not the gateway"]
        return []
    if _is_k8s(resource, "Service"):
        kind = (props.get("spec") or {}).get("type", "ClusterIP")
        return (
            [f"Service type {kind} is reachable from outside the cluster"]
            if kind in ("LoadBalancer", "NodePort")
            else []
        )
    if _is_k8s(resource, "HTTPRoute", "Ingress"):
        return [
            f"routes public traffic to {name!r}, not the gateway"
            for name in _k8s_backends(props)
            if not GATEWAY.search(name)
        ]
    return []


def _k8s_backends(props: Mapping[str, Any]) -> list[str]:
    spec = props.get("spec") or {}
    names = [ref.get("name", "") for rule in spec.get("rules") or [] for ref in rule.get("backendRefs") or []]
    backends = [
        path.get("backend") or {}
        for rule in spec.get("rules") or []
        for path in (rule.get("http") or {}).get("paths") or []
    ]
    if spec.get("defaultBackend"):
        backends.append(spec["defaultBackend"])
    names += [(backend.get("service") or {}).get("name", "") for backend in backends]
    return names


RULES: list[Rule] = [
    Rule(
        "no-public-buckets",
        "No bucket may be publicly readable or writable.",
        "Block all public access (S3 public access block, GCS public access prevention) and grant "
        "bucket roles to named service accounts only.",
        no_public_buckets,
    ),
    Rule(
        "encryption-at-rest",
        "Databases, caches and buckets are encrypted at rest.",
        "Set storageEncrypted / atRestEncryptionEnabled, and a default SSE configuration on buckets. "
        "Google Cloud encrypts Cloud SQL, Memorystore and GCS by default.",
        encryption_at_rest,
    ),
    Rule(
        "no-public-database",
        "No database or cache is reachable from the internet.",
        "Keep publiclyAccessible false (RDS), ipv4Enabled false (Cloud SQL) and data Services ClusterIP.",
        no_public_database,
    ),
    Rule(
        "tls-listeners",
        "Clients speak TLS 1.2+ only; plain HTTP only redirects.",
        "Use ELBSecurityPolicy-TLS13-1-2-2021-06 (AWS), an SSL policy MODERN with TLS 1.2 (GCP), "
        "TLS on every Ingress, and make port 80 a redirect to HTTPS.",
        tls_listeners,
    ),
    Rule(
        "nonroot-readonly-containers",
        "Containers run as a non-root user on a read-only root filesystem.",
        "Set user / runAsNonRoot and readonlyRootFilesystem / readOnlyRootFilesystem; mount a scratch /tmp.",
        nonroot_readonly_containers,
    ),
    Rule(
        "no-plaintext-secrets",
        "No secret-looking value is passed as a plain environment variable.",
        "Store it in the secret manager and reference it: ECS `secrets`, Cloud Run secretKeyRef, "
        "Kubernetes secretKeyRef.",
        no_plaintext_secrets,
    ),
    Rule(
        "log-retention",
        "Logs have a retention period.",
        "Set retentionInDays on every CloudWatch log group (logRetentionDays in the stack config).",
        log_retention,
    ),
    Rule(
        "production-protection",
        "In production, databases have deletion protection and a final snapshot.",
        "Set postgresDeletionProtection and postgresFinalSnapshot to true in the production stack file.",
        production_protection,
    ),
    Rule(
        "k8s-resources-and-probes",
        "Kubernetes workloads declare requests, limits and health probes.",
        "Give every container CPU and memory requests and a memory limit, and readiness and liveness "
        "probes on long-running workloads.",
        k8s_resources_and_probes,
    ),
    Rule(
        "servers-behind-the-gateway",
        "No MCP server is publicly reachable except through the gateway.",
        "Route the load balancer, the Gateway API route or the Ingress to the gateway only; keep servers "
        "on private addresses (Service Connect, Cloud Run internal ingress, ClusterIP Services).",
        servers_behind_the_gateway,
    ),
]


def violations(resources: list[Resource], production: bool) -> list[str]:
    """Every problem in `resources`, as `rule: type name: problem`."""
    return [
        f"{rule.name}: {resource.type} {resource.name}: {problem}"
        for resource in resources
        for rule in RULES
        for problem in rule.check(resource, production)
    ]
