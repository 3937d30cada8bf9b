"""target: kubernetes, defects a review against the projects' documentation found: what the
Prometheus operator selects and may reach, what waits for the CloudNativePG release, the name
limits of CronJobs and StatefulSets, the egress traces need, a server's separate metrics port,
and ingress-nginx's timeouts on event streams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_deploy.platform_spec import PlatformArgsError
from tests.harness.program import ProgramRun, run_program
from tests.infra.test_k8s import FIXTURE, named, of_kind, run_fixture

MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
OPERATOR_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")
TRACING = {"k8sOtlpEndpoint": "http://otel-collector.observability:4318", "tracingSampleRatio": "0.25"}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_fixture()


def _program(stack: str, **overrides: str) -> ProgramRun:
    found = run_program(stack, "kubernetes", overrides=overrides)
    assert found.error is None, found.error
    return found


def _operator_objects(run: ProgramRun) -> list[dict[str, Any]]:
    return [r.inputs for kind in OPERATOR_KINDS for r in of_kind(run, kind)]


# --- 1. kube-prometheus-stack selects our objects by its release label ------------------------


def test_every_operator_object_carries_the_release_label(run: ProgramRun) -> None:
    found = _operator_objects(run)
    assert {o["kind"] for o in found} == set(OPERATOR_KINDS)
    assert len(found) >= 8  # gateway, notes, tools; platform, drill, SLOs; Postgres
    for document in found:
        assert document["metadata"]["labels"]["release"] == "kube-prometheus-stack", document["metadata"]


@pytest.mark.parametrize(("release", "label"), [("prom", "prom"), ("", None)])
def test_the_release_label_follows_the_platform_arg(release: str, label: str | None) -> None:
    for document in _operator_objects(run_fixture(platform={"prometheus_release": release})):
        assert document["metadata"]["labels"].get("release") == label


def test_the_stack_key_sets_or_drops_the_release_label() -> None:
    for value, label in (("monitoring-stack", "monitoring-stack"), ("none", None)):
        run = _program("prod", k8sPrometheusRelease=value)
        labels = [d["metadata"]["labels"] for d in _operator_objects(run)]
        assert labels
        assert {found.get("release") for found in labels} == {label}


@pytest.mark.parametrize("value", ["kube prometheus", "-prom", "x" * 64])
def test_a_release_that_is_no_label_value_is_refused(value: str) -> None:
    found = run_program("prod", "kubernetes", overrides={"k8sPrometheusRelease": value})
    assert found.error is not None
    assert "k8sPrometheusRelease" in str(found.error)
    # A program's own args, past the stack config's validation: the platform refuses them.
    program = run_program(
        path=FIXTURE / "Pulumi.one.yaml",
        program=FIXTURE / "__main__.py",
        overrides={"platform": json.dumps({"prometheus_release": value})},
    )
    assert isinstance(program.error, PlatformArgsError)
    assert "prometheus_release" in str(program.error)


def test_postgres_metrics_come_from_our_pod_monitor_not_the_operators(run: ProgramRun) -> None:
    cluster = named(run, "Cluster", "mcp-postgres")
    assert cluster.inputs["spec"]["monitoring"] == {"enablePodMonitor": False}
    monitor = named(run, "PodMonitor", "mcp-postgres-monitor")
    assert monitor.inputs["metadata"]["name"] != cluster.inputs["metadata"]["name"]
    instances = {"cnpg.io/cluster": cluster.inputs["metadata"]["name"], "cnpg.io/podRole": "instance"}
    assert monitor.inputs["spec"] == {
        "selector": {"matchLabels": instances},
        "podMetricsEndpoints": [{"port": "metrics", "interval": "30s"}],
    }
    assert cluster.urn in monitor.dependencies
    without = run_fixture(platform={"prometheus_operator": False})
    assert of_kind(without, "PodMonitor") == []


# --- 2. Prometheus may reach the CloudNativePG exporter -------------------------------------


def test_the_postgres_policy_admits_prometheus_on_the_exporter_port(run: ProgramRun) -> None:
    def ingress(found: ProgramRun) -> list[dict[str, Any]]:
        return named(found, "NetworkPolicy", "mcp-postgres").inputs["spec"]["ingress"]

    scrape = {"from": [MONITORING], "ports": [{"protocol": "TCP", "port": 9187}]}
    assert scrape in ingress(run)
    # Nothing else of the monitoring namespace, and nothing at all without the operator.
    assert [rule for rule in ingress(run) if MONITORING in rule.get("from", [])] == [scrape]
    assert scrape not in ingress(run_fixture(platform={"prometheus_operator": False}))


# --- 3. the data objects wait for the CloudNativePG release, through the Cluster ------------


def test_database_role_and_database_wait_for_the_cluster(run: ProgramRun) -> None:
    cluster = named(run, "Cluster", "mcp-postgres")
    [release] = run.of_type("kubernetes:helm.sh/v3:Release")
    assert release.urn in cluster.dependencies  # k8s.install_cnpg: the CRDs come with it
    for kind, name in (("DatabaseRole", "notes-postgres-role"), ("Database", "notes-database")):
        assert cluster.urn in named(run, kind, name).dependencies, name


# --- 4. names within what the controllers add -----------------------------------------------


def test_cron_job_and_stateful_set_names_leave_room_for_their_controllers() -> None:
    long_name = "platform-with-a-name-long-enough-to-cut-its-jobs"
    run = run_fixture(platformName=long_name)
    fixed = {
        r.inputs["metadata"]["name"]: r for kind in ("CronJob", "StatefulSet") for r in of_kind(run, kind)
    }
    assert len(fixed) == 3  # backup, drill, Redis
    # A CronJob's Jobs add 11 characters; a StatefulSet's pods carry <name>-<10-character hash>.
    assert all(len(name) <= 52 for name in fixed), sorted(fixed)
    assert len(f"one-{long_name}-backup") > 52  # so the limit did cut
    # The backup alerts and the dashboard name the CronJob by the name it has.
    [backup] = [r for r in of_kind(run, "CronJob") if r.name.endswith("-backup")]
    rules = json.dumps(named(run, "PrometheusRule", f"{long_name}-alerts").inputs["spec"])
    assert f'cronjob=\\"{backup.inputs["metadata"]["name"]}\\"' in rules


# --- 5. traces reach the collector -----------------------------------------------------------


def _egress(run: ProgramRun, policy: str) -> list[dict[str, Any]]:
    return named(run, "NetworkPolicy", policy).inputs["spec"]["egress"]


def test_tracing_opens_egress_to_the_collector_port() -> None:
    collector = {"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 4318}]}
    traced = _program("dev", **TRACING)
    for policy in ("mcp-gateway", "notes-server"):
        assert collector in _egress(traced, policy), policy
    untraced = _program("dev", k8sOtlpEndpoint=TRACING["k8sOtlpEndpoint"], tracingSampleRatio="0")
    for policy in ("mcp-gateway", "notes-server"):
        assert all(rule.get("to") != [{"namespaceSelector": {}}] for rule in _egress(untraced, policy))


def test_the_collector_port_defaults_by_scheme() -> None:
    traced = _program("dev", k8sOtlpEndpoint="https://otel.observability.svc/", tracingSampleRatio="1")
    assert {"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 443}]} in _egress(
        traced, "mcp-gateway"
    )


# --- 6. a metrics port of its own -------------------------------------------------------------


def test_a_separate_metrics_port_is_declared_and_admitted_for_prometheus() -> None:
    tools = {
        "image": "ghcr.io/acme/tools:1.0",
        "port": 3000,
        "health": {"liveness": "/healthz", "readiness": "/healthz"},
        "metrics": {"port": 9090, "path": "/prometheus"},
    }
    run = _program("dev", servers=json.dumps({"tools": tools}), k8sPrometheusOperator="true")
    [server] = named(run, "Deployment", "tools-server").inputs["spec"]["template"]["spec"]["containers"]
    assert server["ports"] == [
        {"name": "http", "containerPort": 3000},
        {"name": "metrics", "containerPort": 9090},
    ]
    [endpoint] = named(run, "ServiceMonitor", "tools-metrics-monitor").inputs["spec"]["endpoints"]
    assert endpoint["targetPort"] == 9090
    ingress = named(run, "NetworkPolicy", "tools-server").inputs["spec"]["ingress"]
    gateway = {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "dev-mcp-gateway"}}}
    assert ingress == [
        {"from": [gateway], "ports": [{"protocol": "TCP", "port": 3000}]},
        {"from": [MONITORING], "ports": [{"protocol": "TCP", "port": 9090}]},
    ]


def test_a_metrics_port_shared_with_mcp_adds_no_port(run: ProgramRun) -> None:
    [notes] = named(run, "Deployment", "notes-server").inputs["spec"]["template"]["spec"]["containers"]
    assert notes["ports"] == [{"name": "http", "containerPort": 8000}]
    [rule] = named(run, "NetworkPolicy", "notes-server").inputs["spec"]["ingress"]
    assert MONITORING in rule["from"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]


# --- 7. ingress-nginx keeps an idle event stream as long as the HTTPRoute does ----------------


def test_the_ingress_keeps_streams_open_as_long_as_the_http_route(run: ProgramRun) -> None:
    [route] = [r for r in of_kind(run, "HTTPRoute") if r.name == "mcp-route"]
    seconds = route.inputs["spec"]["rules"][-1]["timeouts"]["request"].removesuffix("s")
    ingress = run_fixture(platform={"entry": "ingress", "ingress_class": "nginx"})
    [found] = of_kind(ingress, "Ingress")
    assert found.inputs["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-read-timeout": seconds,
        "nginx.ingress.kubernetes.io/proxy-send-timeout": seconds,
    }
    assert int(seconds) > 900  # the silence the gateway itself tolerates on a stream
