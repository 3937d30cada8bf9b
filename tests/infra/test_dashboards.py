"""The dashboards on every target (dev, prod and multi stacks): a CloudWatch, a Cloud Monitoring
and a Grafana dashboard in every plan, each with the shared panel list in order, the Grafana JSON
valid against Grafana's published schema (tests/infra/grafana), and every metric a panel queries
one that our services' code exports, read from that code so a rename breaks this test."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mcp_deploy.dashboards import metrics
from mcp_deploy.dashboards.panels import PANELS, cloudwatch_declarations
from tests.harness.program import ProgramRun, run_program

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    ROOT / "gateway/src/mcp_gateway/metrics.py",
    ROOT / "server/src/mcp_notes/metrics.py",
    ROOT / "bridge/src/mcp_bridge/metrics.py",
)
SCHEMAS = Path(__file__).resolve().parent / "grafana"
TITLES = [panel.title for panel in PANELS]
# A metric family's name: the first string argument of a prometheus_client constructor.
DEFINED = re.compile(r"(Counter|Histogram|Gauge|CounterMetricFamily|GaugeMetricFamily)\(\s*\"([a-z_:]+)\"")


def exported() -> set[str]:
    """The names on /metrics: a CounterMetricFamily gains `_total` (prometheus_client adds it)."""
    names: set[str] = set()
    for source in SOURCES:
        for kind, name in DEFINED.findall(source.read_text()):
            names.add(name + "_total" if kind == "CounterMetricFamily" else name)
    return names


def queried_metrics(promql: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers before a `{`), histogram series by base."""
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in re.findall(r"([a-z_:]+)\{", promql)}


def test_the_exported_names_are_read_from_the_code() -> None:
    names = exported()
    # Spot checks: a parser that found nothing would make every later assertion vacuous.
    assert {"gateway_requests_total", "mcp_request_duration_seconds", "mcp_dependency_up"} <= names
    assert "mcp_dependency_state_changes_total" in names


def test_every_panel_metric_is_one_the_services_export() -> None:
    names = exported()
    for panel in PANELS:
        assert panel.native or panel.queries, panel.key
        for query in panel.queries:
            assert query.metric in names, (panel.key, query.metric)
            assert queried_metrics(query.promql) <= names, (panel.key, query.promql)
            if query.cloudwatch is not None:
                assert query.cloudwatch.metric in names
    named = {value for key, value in vars(metrics).items() if key.isupper() and isinstance(value, str)}
    assert named - {metrics.PLATFORM_LABEL, metrics.SERVICE_LABEL} <= names


def test_a_renamed_metric_would_be_caught() -> None:
    assert "gateway_requests" not in exported()
    assert queried_metrics('sum(rate(gateway_request_duration_seconds_bucket{a="b"}[5m]))') == {
        "gateway_request_duration_seconds"
    }


STACKS = ("dev", "prod", "multi")


@functools.cache
def program(stack: str, target: str) -> ProgramRun:
    found = run_program(stack, target)
    assert found.error is None, found.error
    return found


@pytest.fixture(
    scope="module",
    params=[(stack, target) for stack in STACKS for target in ("aws-ecs", "gcp-cloudrun", "kubernetes")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return program(*request.param)


# One target's plans, for what only that target ships.
@pytest.fixture(scope="module", params=STACKS)
def kubernetes_run(request: pytest.FixtureRequest) -> ProgramRun:
    return program(request.param, "kubernetes")


@pytest.fixture(scope="module", params=STACKS)
def aws_run(request: pytest.FixtureRequest) -> ProgramRun:
    return program(request.param, "aws-ecs")


@pytest.fixture(scope="module", params=STACKS)
def gcp_run(request: pytest.FixtureRequest) -> ProgramRun:
    return program(request.param, "gcp-cloudrun")


def grafana_json(run: ProgramRun) -> dict[str, Any]:
    [config_map] = [
        r
        for r in run.of_type("kubernetes:core/v1:ConfigMap")
        if r.inputs["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]
    return json.loads(config_map.inputs["data"]["mcp-dashboard.json"])


def test_the_dashboard_is_in_every_plan_with_every_panel(run: ProgramRun) -> None:
    if run.target == "aws-ecs":
        body = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
        assert [w["properties"]["title"] for w in body["widgets"]] == TITLES
    elif run.target == "gcp-cloudrun":
        body = json.loads(run.one("gcp:monitoring/dashboard:Dashboard").inputs["dashboardJson"])
        assert [t["widget"]["title"] for t in body["mosaicLayout"]["tiles"]] == TITLES
    else:
        assert [p["title"] for p in grafana_json(run)["panels"]] == TITLES


def _validator(name: str, definition: str | None = None) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text())
    if definition is not None:
        schema = {**schema, "$ref": f"#/definitions/{definition}"}
    return jsonschema.Draft7Validator(schema)


def test_the_grafana_dashboard_validates_against_grafanas_schema(kubernetes_run: ProgramRun) -> None:
    run = kubernetes_run
    board = grafana_json(run)
    _validator("dashboard").validate(board)
    for panel in board["panels"]:
        options = _validator("timeseries" if panel["type"] == "timeseries" else "stat", "Options")
        options.validate(panel["options"])
        for target in panel.get("targets", []):  # no backups on this stack: an empty panel
            _validator("prometheus").validate(target)
    namespace = run.outputs["namespace"]
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    assert all(f'namespace="{namespace}"' in expr for expr in exprs)
    replicas = next(p for p in board["panels"] if p["title"] == "Replicas")
    assert "kube_deployment_status_replicas_available" in replicas["targets"][0]["expr"]


def test_the_schema_refuses_a_broken_dashboard() -> None:
    from mcp_deploy.dashboards.grafana import grafana_dashboard

    board = json.loads(grafana_dashboard("u", "t", 'namespace="n"', {}))
    _validator("dashboard").validate(board)
    del board["schemaVersion"]
    with pytest.raises(jsonschema.ValidationError):
        _validator("dashboard").validate(board)


def test_cloudwatch_searches_what_the_collector_emits(aws_run: ProgramRun) -> None:
    run = aws_run
    emitted = {
        (name.strip("^$"), tuple(dims))
        for d in cloudwatch_declarations()
        for name in d["metric_name_selectors"]  # type: ignore[union-attr]
        for dims in d["dimensions"]  # type: ignore[union-attr]
    }
    body = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    searches = [
        row[0]["expression"]
        for w in body["widgets"]
        for row in w["properties"]["metrics"]
        if isinstance(row[0], dict) and "MCP/" in row[0]["expression"]
    ]
    assert searches
    for search in searches:
        schema, metric = re.match(r"SEARCH\('\{MCP/[^,]+,([^}]+)\} MetricName=\"([a-z_]+)\"", search).groups()  # type: ignore[union-attr]
        assert (metric, tuple(schema.split(","))) in emitted, search


def test_gcp_panels_are_promql_scoped_to_the_platform(gcp_run: ProgramRun) -> None:
    run = gcp_run
    body = json.loads(run.one("gcp:monitoring/dashboard:Dashboard").inputs["dashboardJson"])
    queries = [
        d["timeSeriesQuery"]["prometheusQuery"]
        for t in body["mosaicLayout"]["tiles"]
        for d in t["widget"]["xyChart"]["dataSets"]
        if "prometheusQuery" in d["timeSeriesQuery"]
    ]
    assert queries
    assert all(f'{metrics.PLATFORM_LABEL}="' in q for q in queries)
