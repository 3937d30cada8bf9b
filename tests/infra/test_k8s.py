"""target: kubernetes, through the real program and the committed stack files, under mocks.
Every manifest the program would apply is written out as YAML and validated against the
Kubernetes OpenAPI schemas in strict mode; the invariants are checked for dev and prod."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from mcp_deploy.args import DRAIN_SECONDS
from tests.harness.monitor import Registration
from tests.harness.plan import STACKS
from tests.harness.program import ProgramRun, run_program

TARGET = "kubernetes"  # the conftest `runs` fixture runs both stacks for it
BACKUP_ACCOUNT = "mcp-backup@proj.iam.gserviceaccount.com"
KUBERNETES_VERSION = "1.33.0"
# Custom resources: their schemas come with their operators, which are not available offline.
CUSTOM_KINDS = {"Certificate", "ClusterIssuer", "Cluster", "ServiceMonitor", "PrometheusRule"}
NOT_MANIFESTS = {"kubernetes:helm.sh/v3:Release"}  # the provider renders the chart itself


def manifests(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        r.inputs for r in run.resources if r.type.startswith("kubernetes:") and r.type not in NOT_MANIFESTS
    ]


def of_kind(run: ProgramRun, kind: str) -> list[Registration]:
    return [r for r in run.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def one(run: ProgramRun, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [r.inputs for r in of_kind(run, kind) if name is None or r.inputs["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def pod_spec(run: ProgramRun) -> dict[str, Any]:
    return one(run, "Deployment")["spec"]["template"]["spec"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(
    runs: dict[str, ProgramRun], stack: str, tmp_path: Path
) -> None:
    documents = manifests(runs[stack])
    out = tmp_path / f"{stack}.yaml"
    out.write_text(yaml.safe_dump_all(documents, sort_keys=True))
    validated = 0
    for document in yaml.safe_load_all(out.read_text()):
        if document["kind"] in CUSTOM_KINDS:
            assert document["apiVersion"].split("/")[0] in {
                "cert-manager.io",
                "postgresql.cnpg.io",
                "monitoring.coreos.com",
            }
            continue
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)  # raises on any error
        validated += 1
    assert validated >= 15


def test_validation_would_catch_a_misspelled_field() -> None:
    broken = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"prots": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_namespace_service_account_and_settings(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    namespace = one(run, "Namespace")["metadata"]
    assert namespace["name"] == "mcp"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    account = one(run, "ServiceAccount", "mcp-server")
    assert account["automountServiceAccountToken"] is False
    settings = one(run, "ConfigMap")["data"]
    assert settings["MCP_PUBLIC_URL"] == run.outputs["mcp_endpoint"]
    assert not any(
        word in " ".join(settings.values()).lower() for word in ("password", "postgresql://", "redis://")
    )


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_are_secret_and_reach_the_pod_by_secret_key_ref(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    [secret] = [r for r in of_kind(run, "Secret") if r.inputs["metadata"]["name"] == "mcp-server"]
    assert "stringData" in secret.secret_inputs  # the provider marks the whole map secret
    assert set(secret.inputs["stringData"]) == {"DATABASE_URL", "REDIS_URL", "MCP_REQUEST_STATE_KEY"}
    container = pod_spec(run)["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert refs == {
        k: {"name": "mcp-server", "key": k} for k in ("DATABASE_URL", "REDIS_URL", "MCP_REQUEST_STATE_KEY")
    }
    assert container["envFrom"] == [{"configMapRef": {"name": "mcp-server"}}]


@pytest.mark.parametrize(("stack", "replicas"), [("dev", 1), ("prod", 3)])
def test_deployment_is_hardened_probed_spread_and_drains(
    runs: dict[str, ProgramRun], stack: str, replicas: int
) -> None:
    run = runs[stack]
    deployment = one(run, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == replicas
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["terminationGracePeriodSeconds"] > DRAIN_SECONDS
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    container = pod["containers"][0]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert "@sha256:" in container["image"]
    assert container["image"].startswith("registry.example.com/platform/mcp-notes@sha256:")
    [registration] = of_kind(run, "Deployment")
    assert registration.ignore_changes == ("spec.replicas",)


@pytest.mark.parametrize(("stack", "low", "high"), [("dev", 1, 2), ("prod", 3, 12)])
def test_service_autoscaler_and_disruption_budget(
    runs: dict[str, ProgramRun], stack: str, low: int, high: int
) -> None:
    run = runs[stack]
    assert one(run, "Service", "mcp-server")["spec"]["type"] == "ClusterIP"
    hpa = one(run, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (low, high)
    assert one(run, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_ingress_streams_and_takes_tls_from_cert_manager(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    ingress = one(run, "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert ingress["spec"]["ingressClassName"] == "nginx"
    domain = {"dev": "mcp-dev.example.com", "prod": "mcp.example.com"}[stack]
    assert ingress["spec"]["tls"] == [{"hosts": [domain], "secretName": "mcp-server-tls"}]
    paths = [p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]]
    assert paths == ["/mcp", "/.well-known/oauth-protected-resource"]
    certificate = one(run, "Certificate")["spec"]
    assert (certificate["secretName"], certificate["dnsNames"]) == ("mcp-server-tls", [domain])
    issuers = of_kind(run, "ClusterIssuer")
    assert len(issuers) == (1 if stack == "prod" else 0)  # only prod sets k8sAcmeEmail


def test_an_existing_tls_secret_replaces_cert_manager() -> None:
    run = run_program("dev", "kubernetes", overrides={"k8sTlsSecret": "wildcard-example-com"})
    assert of_kind(run, "Certificate") == []
    assert one(run, "Ingress")["spec"]["tls"][0]["secretName"] == "wildcard-example-com"
    names = {p.inputs["metadata"]["name"] for p in of_kind(run, "NetworkPolicy")}
    # no challenges to answer: every policy but the solver's
    assert names == {"mcp-default-deny", "mcp-server", "mcp-backup", "mcp-redis", "mcp-postgres"}


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_deny_by_default_and_allow_only_the_needed_paths(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in of_kind(run, "NetworkPolicy")}
    deny = policies["mcp-default-deny"]
    assert deny["podSelector"] == {}
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert not deny.get("ingress")  # no rules at all: nothing in, nothing out
    assert not deny.get("egress")
    server = policies["mcp-server"]
    sources = [
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for peer in server["ingress"][0]["from"]
    ]
    assert sources == (["ingress-nginx", "monitoring"] if stack == "prod" else ["ingress-nginx"])
    assert server["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    egress = server["egress"]
    assert {p["port"] for p in egress[0]["ports"]} == {53}
    targets = [rule["to"][0]["podSelector"]["matchLabels"] for rule in egress[1:3]]
    # CNPG's pods carry cnpg.io/cluster, not our app.kubernetes.io/name
    assert targets == [{"app.kubernetes.io/name": "mcp-redis"}, {"cnpg.io/cluster": "mcp-postgres"}]
    assert policies["mcp-postgres"]["podSelector"] == {"matchLabels": {"cnpg.io/cluster": "mcp-postgres"}}
    postgres_clients = [
        peer["podSelector"]["matchLabels"] for peer in policies["mcp-postgres"]["ingress"][0]["from"]
    ]
    assert postgres_clients == [
        {"app.kubernetes.io/name": "mcp-server"},
        {"app.kubernetes.io/name": "mcp-backup"},
    ]
    # cert-manager issues the certificate in both stacks: its HTTP-01 solver must be reachable
    solver = policies["mcp-acme-solver"]
    assert solver["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    assert solver["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
            ],
            "ports": [{"protocol": "TCP", "port": 8089}],
        }
    ]
    public = egress[3]
    assert public["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "10.0.0.0/8" in public["to"][0]["ipBlock"]["except"]


@pytest.mark.parametrize(("stack", "instances"), [("dev", 1), ("prod", 2)])
def test_postgres_and_redis_run_in_cluster_with_persistence_and_passwords(
    runs: dict[str, ProgramRun], stack: str, instances: int
) -> None:
    run = runs[stack]
    release = run.one("kubernetes:helm.sh/v3:Release").inputs
    assert (release["chart"], release["repositoryOpts"]["repo"]) == (
        "cloudnative-pg",
        "https://cloudnative-pg.github.io/charts",
    )
    cluster = one(run, "Cluster")["spec"]
    assert cluster["instances"] == instances
    assert cluster["storage"]["size"] == {"dev": "20Gi", "prod": "100Gi"}[stack]
    assert cluster["bootstrap"]["initdb"]["secret"] == {"name": "mcp-postgres-app"}
    assert cluster["enableSuperuserAccess"] is False
    [postgres_cr] = of_kind(run, "Cluster")
    assert postgres_cr.protect is (stack == "prod")
    redis = one(run, "StatefulSet")["spec"]
    container = redis["template"]["spec"]["containers"][0]
    script = container["args"][-1]
    # AUTH on, but from a config file: a password in argv shows in `ps` inside the pod
    assert "requirepass" in script
    assert "--requirepass" not in script
    assert script.index("/tmp/redis.conf") < script.index("exec redis-server /tmp/redis.conf")
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env == {
        name: {"name": "mcp-redis", "key": "REDIS_PASSWORD"} for name in ("REDIS_PASSWORD", "REDISCLI_AUTH")
    }
    assert container["readinessProbe"]["exec"]["command"] == ["redis-cli", "ping"]
    assert redis["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    for secret in of_kind(run, "Secret"):
        assert secret.secret_inputs, secret.name  # every Secret's data is a Pulumi secret


def test_external_data_means_nothing_in_cluster() -> None:
    run = run_program(
        "dev",
        "kubernetes",
        secret_overrides={
            "externalPostgresUrl": "postgresql://app:s3cret-for-test@db.managed.example:5432/mcp?sslmode=require",
            "externalRedisUrl": "rediss://:s3cret-for-test@cache.managed.example:6380/0",
        },
    )
    assert run.error is None, run.error
    for kind in ("Cluster", "StatefulSet"):
        assert of_kind(run, kind) == []
    assert run.of_type("kubernetes:helm.sh/v3:Release") == []
    [secret] = of_kind(run, "Secret")
    assert secret.inputs["stringData"]["DATABASE_URL"].startswith("postgresql://app:")
    assert "stringData" in secret.secret_inputs
    names = {p.inputs["metadata"]["name"] for p in of_kind(run, "NetworkPolicy")}
    assert names == {"mcp-default-deny", "mcp-server", "mcp-backup", "mcp-acme-solver"}


def _egress(run: ProgramRun, policy_name: str) -> list[dict[str, Any]]:
    [spec] = [
        p.inputs["spec"] for p in of_kind(run, "NetworkPolicy") if p.inputs["metadata"]["name"] == policy_name
    ]
    return spec["egress"]


def test_managed_postgres_with_redis_in_cluster() -> None:
    run = run_program(
        "dev",
        "kubernetes",
        secret_overrides={
            "externalPostgresUrl": "postgresql://app:s3cret-for-test@db.managed.example:5432/mcp?sslmode=require"
        },
    )
    assert run.error is None, run.error
    assert of_kind(run, "Cluster") == []
    assert len(of_kind(run, "StatefulSet")) == 1  # Redis still runs here
    assert run.outputs["database"] == "mcp/external"
    assert run.outputs["cache"] == "mcp/mcp-redis"
    names = {p.inputs["metadata"]["name"] for p in of_kind(run, "NetworkPolicy")}
    assert "mcp-redis" in names
    assert "mcp-postgres" not in names  # no pods of that name exist
    # both the server and the backup job reach the managed database by port, not pod selector
    managed_postgres = {"ports": [{"protocol": "TCP", "port": 5432}]}
    assert managed_postgres in _egress(run, "mcp-server")
    assert managed_postgres in _egress(run, "mcp-backup")


def test_managed_redis_may_serve_tls_on_its_provider_port() -> None:
    run = run_program(
        "dev",
        "kubernetes",
        secret_overrides={"externalRedisUrl": "rediss://:s3cret-for-test@cache.managed.example:6380/0"},
    )
    assert run.error is None, run.error
    ports = [{p["port"] for p in rule["ports"]} for rule in _egress(run, "mcp-server") if "to" not in rule]
    assert {6379, 6378, 6380} in ports


def test_external_urls_must_be_secrets_and_only_for_kubernetes() -> None:
    plain = run_program("dev", "kubernetes", overrides={"externalRedisUrl": "redis://cache:6379/0"})
    assert "externalRedisUrl: got [secret] stored as plain text" in str(plain.error)
    other = run_program("dev", "aws-ecs", secret_overrides={"externalRedisUrl": "redis://cache:6379/0"})
    assert "externalRedisUrl: got [secret]; allowed: only with target kubernetes" in str(other.error)


def test_prod_backs_up_on_a_schedule_that_never_overlaps(runs: dict[str, ProgramRun]) -> None:
    run = runs["prod"]
    cron = one(run, "CronJob")["spec"]
    assert (cron["schedule"], cron["timeZone"], cron["concurrencyPolicy"]) == (
        "15 2 * * *",
        "Etc/UTC",
        "Forbid",
    )
    assert (cron["successfulJobsHistoryLimit"], cron["failedJobsHistoryLimit"]) == (3, 3)
    assert cron["startingDeadlineSeconds"] > 0
    job = cron["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == "mcp-backup"
    container = pod["containers"][0]
    assert container["args"] == ["backup"]
    env = {e["name"]: e.get("value") or e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env == {
        "BACKUP_URL": "s3://example-mcp-backups/prod",
        "DATABASE_URL": {"name": "mcp-server", "key": "DATABASE_URL"},
    }
    # the dump is staged in /tmp: node disk sized like the database, not the 64Mi memory tmpfs
    [scratch] = [v for v in pod["volumes"] if v["name"] == "tmp"]
    assert scratch["emptyDir"] == {"sizeLimit": "100Gi"}
    assert run.outputs["backup_bucket"] == "example-mcp-backups"


def test_backup_credentials_come_from_a_secret_or_workload_identity() -> None:
    run = run_program(
        "dev",
        "kubernetes",
        overrides={
            "k8sBackupUrl": "gs://team-backups/mcp",
            "k8sBackupSecret": "backup-credentials",
            "k8sBackupServiceAccountAnnotations": json.dumps(
                [f"iam.gke.io/gcp-service-account={BACKUP_ACCOUNT}"]
            ),
        },
    )
    account = one(run, "ServiceAccount", "mcp-backup")
    assert account["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": BACKUP_ACCOUNT}
    assert account["automountServiceAccountToken"] is False
    container = one(run, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "backup-credentials"}}]
    # keys from a Secret: no reason to reach the node's metadata service
    assert _metadata_endpoints(run) == []


def _metadata_endpoints(run: ProgramRun) -> list[str]:
    blocks = [
        peer["ipBlock"]
        for rule in _egress(run, "mcp-backup")
        for peer in rule.get("to", [])
        if "ipBlock" in peer
    ]
    return [block["cidr"] for block in blocks if block["cidr"].startswith("169.254.")]


def test_backup_by_workload_identity_may_reach_the_credential_endpoints(runs: dict[str, ProgramRun]) -> None:
    assert _metadata_endpoints(runs["prod"]) == [
        "169.254.169.254/32",
        "169.254.169.252/32",
        "169.254.170.23/32",
    ]


def test_dev_without_a_backup_url_has_no_cron_job(runs: dict[str, ProgramRun]) -> None:
    assert of_kind(runs["dev"], "CronJob") == []


@pytest.mark.parametrize("stack", STACKS)
def test_monitoring_objects_only_with_the_prometheus_operator(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    if stack == "dev":
        assert of_kind(run, "ServiceMonitor") == []
        assert of_kind(run, "PrometheusRule") == []
        return
    assert one(run, "ServiceMonitor")["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "30s"}
    ]
    alerts = [rule["alert"] for rule in one(run, "PrometheusRule")["spec"]["groups"][0]["rules"]]
    assert alerts == [
        "McpHigh5xxRate",
        "McpHighP99Latency",
        "McpReplicasAtMax",
        "McpPostgresCpu",
        "McpPostgresDisk",
        "McpRedisMemory",
    ]
