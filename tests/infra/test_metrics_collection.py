"""Metrics and the trace path on every target: the collector sidecars on aws-ecs and gcp-cloudrun
(scraping the task's own /metrics, OTLP only when tracing is on), the exact permissions they get,
the prometheus.io annotations and ServiceMonitors on kubernetes, and the OTEL_* env only when
tracing is on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_deploy.aws.platform import collector as aws_collector
from mcp_deploy.gcp.platform import collector as gcp_collector
from mcp_deploy.server_spec import resolve_server
from tests.harness.program import ProgramRun, run_program

TASK = "aws:ecs/taskDefinition:TaskDefinition"
POLICY = "aws:iam/rolePolicy:RolePolicy"
SERVICE = "gcp:cloudrunv2/service:Service"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_TRACING = {"k8sOtlpEndpoint": "http://otel.observability:4318", "tracingSampleRatio": "0.25"}


def _run(stack: str, target: str, **overrides: str) -> ProgramRun:
    found = run_program(stack, target, overrides=overrides or None)
    assert found.error is None, found.error
    return found


def test_scraping_defaults_on_for_our_images_and_off_for_others() -> None:
    assert resolve_server("notes", {"build": "server"}).metrics is not None
    assert resolve_server("notes", {"build": "server"}).metrics.port == 8000  # type: ignore[union-attr]
    assert resolve_server("t", {"transport": "stdio", "package": "npm:x@1.0.0"}).metrics is not None
    assert resolve_server("t", {"image": "ghcr.io/a/b:1"}).metrics is None
    opted = resolve_server("t", {"image": "ghcr.io/a/b:1", "metrics": {"port": 9100, "path": "/m"}}).metrics
    assert (opted.port, opted.path) == (9100, "/m")  # type: ignore[union-attr]
    assert resolve_server("n", {"build": "server", "metrics": {"enabled": False}}).metrics is None


# --- aws-ecs --------------------------------------------------------------------------------


def _task(run: ProgramRun, name: str) -> list[dict[str, Any]]:
    return json.loads(run.named(TASK, name).inputs["containerDefinitions"])


def _statements(run: ProgramRun, name: str) -> list[dict[str, Any]]:
    return json.loads(run.named(POLICY, name).inputs["policy"])["Statement"]


@pytest.mark.parametrize(("stack", "traced"), [("dev", False), ("prod", True)])
def test_aws_collector_sidecar_and_exact_task_role(stack: str, traced: bool) -> None:
    run = _run(stack, "aws-ecs")
    for task, role, port, service in (
        ("notes-server", "notes-task", 8000, "notes"),
        ("mcp-gateway", "mcp-gateway-task", 8080, "gateway"),
    ):
        containers = {c["name"]: c for c in _task(run, task)}
        sidecar = containers["collector"]
        assert sidecar["image"] == aws_collector.IMAGE
        assert ":latest" not in sidecar["image"]
        assert sidecar["essential"] is False
        config = json.loads(
            next(e["value"] for e in sidecar["environment"] if e["name"] == "AOT_CONFIG_CONTENT")
        )
        [scrape] = config["receivers"]["prometheus"]["config"]["scrape_configs"]
        assert scrape["static_configs"][0]["targets"] == [f"localhost:{port}"]
        assert scrape["static_configs"][0]["labels"]["mcp_service"] == service
        assert config["exporters"]["awsemf"]["namespace"].startswith("MCP/")
        assert ("traces" in config["service"]["pipelines"]) is traced
        main = containers["server" if service != "gateway" else "gateway"]
        env = {e["name"]: e["value"] for e in main["environment"]}
        assert (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://localhost:4318") is traced
        assert ("OTEL_EXPORTER_OTLP_ENDPOINT" in env) is traced
        if traced:
            assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.1"
        actions = sorted(a for s in _statements(run, role) for a in s["Action"])
        expected = sorted(aws_collector.EMF_ACTIONS + (aws_collector.XRAY_ACTIONS if traced else []))
        assert actions == expected
        assert run.named(TASK, task).inputs["taskRoleArn"]


def test_aws_emf_permissions_name_only_the_platforms_metrics_log_group() -> None:
    run = _run("dev", "aws-ecs")
    [emf] = _statements(run, "notes-task")
    group = run.named("aws:cloudwatch/logGroup:LogGroup", "mcp-metrics")
    server_logs = run.named("aws:cloudwatch/logGroup:LogGroup", "notes-server")
    assert group.inputs["retentionInDays"] == server_logs.inputs["retentionInDays"]
    assert all("metrics" in resource for resource in emf["Resource"])


def test_aws_third_party_image_without_metrics_gets_no_sidecar_when_not_tracing() -> None:
    run = _run("multi", "aws-ecs")
    assert [c["name"] for c in _task(run, "tools-server")] == ["server"]
    assert "taskRoleArn" not in run.named(TASK, "tools-server").inputs


# --- gcp-cloudrun ---------------------------------------------------------------------------


def _roles(run: ProgramRun, prefix: str) -> list[str]:
    return sorted(
        r.inputs["role"] for r in run.of_type("gcp:projects/iAMMember:IAMMember") if r.name.startswith(prefix)
    )


@pytest.mark.parametrize(("stack", "traced"), [("dev", False), ("prod", True)])
def test_gcp_collector_sidecar_and_exact_roles(stack: str, traced: bool) -> None:
    run = _run(stack, "gcp-cloudrun")
    for service_name, prefix in (
        ("notes-service", "notes-collector"),
        ("mcp-gateway", "mcp-gateway-collector"),
    ):
        containers = run.named(SERVICE, service_name).inputs["template"]["containers"]
        main, sidecar = containers
        assert sidecar["image"] == gcp_collector.IMAGE
        assert "ports" not in sidecar  # only the main container takes requests
        config = json.loads(sidecar["envs"][0]["value"])
        assert "prometheus" in config["receivers"]
        assert ("traces" in config["service"]["pipelines"]) is traced
        env = {e["name"]: e.get("value") for e in main["envs"]}
        assert ("OTEL_EXPORTER_OTLP_ENDPOINT" in env) is traced
        expected = (
            [gcp_collector.TRACE_AGENT, gcp_collector.METRIC_WRITER]
            if traced
            else [gcp_collector.METRIC_WRITER]
        )
        assert _roles(run, prefix) == sorted(expected)
    apis = {r.inputs["service"] for r in run.of_type("gcp:projects/service:Service")}
    assert (gcp_collector.TRACE_API in apis) is traced


# --- kubernetes -----------------------------------------------------------------------------


def _pod(run: ProgramRun, name: str) -> dict[str, Any]:
    return run.named(DEPLOYMENT, name).inputs["spec"]["template"]


def test_k8s_pods_carry_scrape_annotations_and_no_tracing_by_default() -> None:
    run = _run("multi", "kubernetes")
    notes = _pod(run, "notes-server")["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true"
    assert notes["prometheus.io/port"] == "8000"
    assert notes["prometheus.io/path"] == "/metrics"
    assert _pod(run, "mcp-gateway")["metadata"]["annotations"]["prometheus.io/port"] == "8080"
    assert "prometheus.io/scrape" not in _pod(run, "tools-server")["metadata"].get("annotations", {})
    env = {e["name"] for e in _pod(run, "notes-server")["spec"]["containers"][0]["env"]}
    assert not any(name.startswith("OTEL_") for name in env)


def test_k8s_tracing_env_only_with_an_endpoint_and_a_ratio() -> None:
    run = _run("dev", "kubernetes", **K8S_TRACING)
    for name in ("notes-server", "mcp-gateway"):
        env = {e["name"]: e.get("value") for e in _pod(run, name)["spec"]["containers"][0]["env"]}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == K8S_TRACING["k8sOtlpEndpoint"]
        assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
        assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
    off = _run("dev", "kubernetes", k8sOtlpEndpoint=K8S_TRACING["k8sOtlpEndpoint"], tracingSampleRatio="0")
    env = {e["name"] for e in _pod(off, "notes-server")["spec"]["containers"][0]["env"]}
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env


def test_k8s_operator_monitors_the_bridged_server_too() -> None:
    run = _run("multi", "kubernetes", k8sPrometheusOperator="true")
    monitors = [r for r in run.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")]
    names = {r.name for r in monitors}
    assert {"notes-monitor", "time-metrics-monitor", "mcp-gateway-monitor"} <= names
    assert "tools-metrics-monitor" not in names
    time = next(r for r in monitors if r.name == "time-metrics-monitor").inputs["spec"]["endpoints"][0]
    assert time["port"] == "http"
    assert time["path"] == "/metrics"


def test_otlp_endpoint_is_refused_off_kubernetes() -> None:
    found = run_program("dev", "aws-ecs", overrides={"k8sOtlpEndpoint": "http://x:4318"})
    assert found.error is not None
    assert "k8sOtlpEndpoint" in str(found.error)


@pytest.mark.parametrize("endpoint", ["http://otel:99999", "http://otel:0", "otel:4318"])
def test_an_otlp_endpoint_without_a_usable_port_is_a_config_error(endpoint: str) -> None:
    """Its port opens the NetworkPolicy egress: one outside 1..65535 must be refused by name in
    config, not fail in the program."""
    tracing = {"k8sOtlpEndpoint": endpoint, "tracingSampleRatio": "1"}
    found = run_program("dev", "kubernetes", overrides=tracing)
    assert found.error is not None
    assert "k8sOtlpEndpoint" in str(found.error)
    assert not found.resources


@pytest.mark.parametrize("stack", ["dev", "prod", "multi"])
def test_gcp_sidecars_share_their_services_cpu_allocation(stack: str) -> None:
    """CPU allocation is the instance's: a collector must not ask for another than its service."""
    run = _run(stack, "gcp-cloudrun")
    sidecars = 0
    for service in run.of_type("gcp:cloudrunv2/service:Service"):
        containers = service.inputs["template"]["containers"]
        if len(containers) > 1:
            sidecars += 1
            assert len({c["resources"]["cpuIdle"] for c in containers}) == 1, service.name
    assert sidecars >= 2  # the gateway's and notes' at least
