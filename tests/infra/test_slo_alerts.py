"""SLO burn-rate alerts per server on every target, and the alert webhook.

Every plan (dev, prod, multi on aws-ecs, gcp-cloudrun and kubernetes with the Prometheus
operator) has, for each server, both indicators' four burn rates (1h/5m and 6h/30m pages, 1d/2h
and 3d/6h tickets) with windows and thresholds from the server's `slo`; the webhook URL is a
secret all the way and reaches each target's alert router by reference or as a secret input.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from mcp_deploy.config_errors import ConfigError
from mcp_deploy.platform_spec import PlatformArgsError
from mcp_deploy.slo import BURN_RATES, INDICATORS, LATENCY_OBJECTIVES_MS, Slo, duration
from tests.harness.graph import direct_dependencies
from tests.harness.monitor import Registration
from tests.harness.program import ProgramRun, run_program
from tests.harness.stack_files import ROOT
from tests.infra import crds

TARGETS = ("aws-ecs", "gcp-cloudrun", "kubernetes")
OPERATOR = {"k8sPrometheusOperator": "true"}
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
GCP_SLO = "gcp:monitoring/slo:Slo"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
WEBHOOK = "https://events.example.com/integration/k3y-in-the-path/enqueue"
STRICT = {"availability": 99.9, "latencyP99Ms": 250}


def plan(stack: str, target: str, **overrides: str) -> ProgramRun:
    extra = {**(OPERATOR if target == "kubernetes" else {}), **overrides}
    run = run_program(stack, target, overrides=extra)
    assert run.error is None, run.error
    return run


@cache
def strict(target: str) -> ProgramRun:
    """dev with a webhook, and notes with objectives of its own (99.9%, 250 ms)."""
    run = run_program(
        "dev",
        target,
        overrides={
            **OPERATOR,
            "alertWebhookUrl": "pagerHook",
            "servers": json.dumps({"notes": {"build": "server", "slo": STRICT}}),
        },
        secret_overrides={"pagerHook": WEBHOOK},
    )
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="module", params=[(s, t) for s in ("dev", "prod", "multi") for t in TARGETS], ids=str)
def every_plan(request: pytest.FixtureRequest) -> ProgramRun:
    stack, target = request.param
    return plan(stack, target)


def servers(run: ProgramRun) -> list[str]:
    return sorted(run.outputs["servers"])


# --- every plan, every server ---------------------------------------------------------------


def test_every_server_has_both_indicators_at_every_burn_rate(every_plan: ProgramRun) -> None:
    run = every_plan
    for server in servers(run):
        found = _burn_rates(run, server, Slo())
        assert sorted(found) == sorted(
            (indicator, rate.long_seconds, rate.short_seconds, rate.severity)
            for indicator in INDICATORS
            for rate in BURN_RATES
        ), server


def _burn_rates(run: ProgramRun, server: str, slo: Slo) -> list[tuple[str, int, int, str]]:
    """(indicator, long, short, severity) of each of the server's burn-rate alerts, each checked
    against the objective's threshold for it on the way."""
    if run.target == "aws-ecs":
        return [
            _aws_burn_rate(run, server, slo, indicator, rate)
            for indicator in INDICATORS
            for rate in BURN_RATES
        ]
    if run.target == "gcp-cloudrun":
        return [
            _gcp_burn_rate(run, server, slo, indicator, rate)
            for indicator in INDICATORS
            for rate in BURN_RATES
        ]
    return _k8s_burn_rates(run, server, slo)


def _aws_burn_rate(
    run: ProgramRun, server: str, slo: Slo, indicator: Any, rate: Any
) -> tuple[str, int, int, str]:
    composite = run.named(COMPOSITE, f"{server}-slo-{indicator}-{rate.label}")
    topic = run.one("aws:sns/topic:Topic").state["arn"]
    cluster = run.one("aws:ecs/cluster:Cluster").state["name"]
    gateway = run.named("aws:ecs/service:Service", "mcp-gateway").inputs["name"]
    assert composite.inputs["alarmActions"] == [topic]
    assert composite.inputs["okActions"] == [topic]
    assert composite.inputs["alarmDescription"].startswith(f"{rate.severity}: {server}'s error budget")
    windows = []
    for seconds in (rate.long_seconds, rate.short_seconds):
        child = run.named(METRIC_ALARM, f"{server}-slo-{indicator}-{rate.label}-{duration(seconds)}")
        # Only the composite notifies; its rule names both windows' alarms, so it waits for them.
        assert f'ALARM("{child.inputs["name"]}")' in composite.inputs["alarmRule"]
        assert child.urn in direct_dependencies(composite)
        assert "alarmActions" not in child.inputs
        assert "okActions" not in child.inputs
        assert child.inputs["threshold"] == pytest.approx(100 * rate.factor * slo.budget(indicator))
        assert child.inputs["evaluationPeriods"] == 1
        assert child.inputs["treatMissingData"] == "notBreaching"
        metrics = [q["metric"] for q in child.inputs["metricQueries"] if "metric" in q]
        assert {m["period"] for m in metrics} == {seconds}  # one period = the whole window
        # What the gateway's proxy reports of the requests it sends the server (the only set
        # of Service Connect dimensions these metrics are published under for one stack).
        assert all(
            m["dimensions"] == {"ClusterName": cluster, "ServiceName": gateway, "TargetDiscoveryName": server}
            for m in metrics
        )
        if indicator == "latency":
            assert [m["stat"] for m in metrics] == [f"PR(:{slo.latency_p99_ms})"]
        else:
            assert sorted(m["metricName"] for m in metrics) == ["HTTPCode_Target_5XX_Count", "RequestCount"]
        windows.append(seconds)
    assert composite.inputs["alarmRule"].count(" AND ") == 1
    return indicator, windows[0], windows[1], rate.severity


def _gcp_burn_rate(
    run: ProgramRun, server: str, slo: Slo, indicator: Any, rate: Any
) -> tuple[str, int, int, str]:
    objective = run.named(GCP_SLO, f"{server}-slo-{indicator}")
    assert objective.inputs["goal"] == pytest.approx(1 - slo.budget(indicator))
    assert objective.inputs["rollingPeriodDays"] == 30
    sli = objective.inputs["requestBasedSli"]
    if indicator == "latency":
        assert sli["distributionCut"]["range"]["max"] == slo.latency_p99_ms
        assert (
            'metric.type="run.googleapis.com/request_latencies"'
            in sli["distributionCut"]["distributionFilter"]
        )
    else:
        assert 'response_code_class="5xx"' in sli["goodTotalRatio"]["badServiceFilter"]
    name = f"projects/{objective.inputs['project']}/services/{objective.inputs['service']}"
    name += f"/serviceLevelObjectives/{objective.inputs['sloId']}"
    policy = run.named(POLICY, f"{server}-slo-{indicator}-{rate.label}")
    assert policy.inputs["combiner"] == "AND"  # both windows
    assert policy.inputs["severity"] == {"page": "CRITICAL", "ticket": "WARNING"}[rate.severity]
    assert objective.urn in direct_dependencies(policy)
    lookbacks = []
    for condition in policy.inputs["conditions"]:
        threshold = condition["conditionThreshold"]
        assert threshold["thresholdValue"] == rate.factor
        assert threshold["comparison"] == "COMPARISON_GT"
        found = re.fullmatch(r'select_slo_burn_rate\("([^"]+)", "(\d+)s"\)', threshold["filter"])
        assert found is not None, threshold["filter"]
        assert found.group(1) == name
        lookbacks.append(int(found.group(2)))
    return indicator, lookbacks[0], lookbacks[1], rate.severity


def _k8s_burn_rates(run: ProgramRun, server: str, slo: Slo) -> list[tuple[str, int, int, str]]:
    rule = run.named(RULE, f"{server}-slo")
    crds.validate(rule.inputs)  # against the operator's published schema, strictly
    [group] = rule.inputs["spec"]["groups"]
    records = {r["record"]: r["expr"] for r in group["rules"] if "record" in r}
    seconds = {duration(s): s for rate in BURN_RATES for s in (rate.long_seconds, rate.short_seconds)}
    found = []
    for alert in (r for r in group["rules"] if "alert" in r):
        indicator = "availability" if alert["alert"] == "McpAvailabilityBudgetBurn" else "latency"
        windows = re.findall(r"ratio_rate(\w+)\{[^}]*route=\"" + server + r"\"\} > ([0-9.]+)", alert["expr"])
        assert len(windows) == 2, alert["expr"]
        assert " and " in alert["expr"]
        for window, threshold in windows:
            assert any(name.endswith(f"ratio_rate{window}") for name in records), window
            rate = next(r for r in BURN_RATES if r.label == alert["labels"]["window"])
            assert float(threshold) == pytest.approx(rate.factor * slo.budget(indicator))
        assert alert["labels"]["server"] == server
        found.append((indicator, seconds[windows[0][0]], seconds[windows[1][0]], alert["labels"]["severity"]))
    bucket = f'le="{slo.latency_p99_ms / 1000:g}"'.replace('le="1"', 'le="1.0"')
    assert all(bucket in expr for name, expr in records.items() if ":gateway_route_slow:" in name)
    return found


# --- objectives from config -----------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_thresholds_and_objective_follow_the_servers_slo(target: str) -> None:
    assert len(_burn_rates(strict(target), "notes", Slo(99.9, 250))) == 8


def test_a_sticky_server_on_aws_has_no_service_connect_metrics_and_no_burn_rate_alarms() -> None:
    entries = {"notes": {"build": "server", "sessions": "sticky"}}
    run = plan("dev", "aws-ecs", servers=json.dumps(entries))
    assert [r.name for r in run.of_type(COMPOSITE)] == []


@pytest.mark.parametrize(
    ("slo", "key", "allowed"),
    [
        ({"availability": 90}, "servers.notes.slo.availability", "greater than 90"),
        ({"availability": 100}, "servers.notes.slo.availability", "less than 100"),
        ({"latencyP99Ms": 300}, "servers.notes.slo.latencyP99Ms", "1000, 2500"),
        ({"latency": 300}, "servers.notes.slo.latency", ""),
    ],
)
def test_objectives_out_of_range_are_refused_naming_the_key(
    slo: dict[str, Any], key: str, allowed: str
) -> None:
    run = run_program("dev", overrides={"servers": json.dumps({"notes": {"build": "server", "slo": slo}})})
    assert isinstance(run.error, ConfigError), run.error
    assert run.resources == []
    [line] = [line for line in str(run.error).splitlines() if key in line]
    assert allowed in line


# --- the webhook ----------------------------------------------------------------------------


def test_aws_subscribes_the_webhook_to_the_alarm_topic_as_a_secret() -> None:
    run = strict("aws-ecs")
    subscription = run.named("aws:sns/topicSubscription:TopicSubscription", "mcp-alarms-webhook")
    topic = run.one("aws:sns/topic:Topic")
    assert subscription.inputs["protocol"] == "https"
    assert subscription.inputs["topic"] == topic.state["arn"]
    assert subscription.inputs["endpoint"] == WEBHOOK
    assert "endpoint" in subscription.secret_inputs
    assert "endpoint" in subscription.additional_secret_outputs
    assert subscription.inputs["endpointAutoConfirms"] is True  # up fails if it never confirms
    _nowhere_else(run, subscription)


def test_gcp_sends_every_policy_to_the_webhook_channel_made_first() -> None:
    run = strict("gcp-cloudrun")
    channel = run.named("gcp:monitoring/notificationChannel:NotificationChannel", "mcp-webhook")
    assert channel.inputs["type"] == "webhook_tokenauth"
    assert channel.inputs["labels"] == {"url": WEBHOOK}
    assert {"labels", "labels.url"} & channel.secret_inputs
    assert "labels" in channel.additional_secret_outputs
    policies = run.of_type(POLICY)
    assert len([p for p in policies if "-slo-" in p.name]) == 8
    for policy in policies:
        assert channel.state["id"] in policy.inputs["notificationChannels"], policy.name
        assert channel.urn in direct_dependencies(policy), policy.name
    _nowhere_else(run, channel)


def test_kubernetes_routes_alerts_to_a_webhook_whose_url_is_in_a_secret() -> None:
    run = strict("kubernetes")
    [config] = run.of_type("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig")
    secret = run.named("kubernetes:core/v1:Secret", "mcp-alert-webhook")
    assert secret.inputs["stringData"] == {"url": WEBHOOK}
    assert "stringData.url" in secret.secret_inputs or "stringData" in secret.secret_inputs
    spec = config.inputs["spec"]
    [receiver] = spec["receivers"]
    assert spec["route"]["receiver"] == receiver["name"]
    [webhook] = receiver["webhookConfigs"]
    assert webhook == {
        "urlSecret": {"name": secret.state["metadata"]["name"], "key": "url"},
        "sendResolved": True,
    }
    assert config.inputs["metadata"]["namespace"] == secret.inputs["metadata"]["namespace"] == "dev-mcp"
    assert secret.urn in direct_dependencies(config)
    _nowhere_else(run, secret)


def test_every_kubernetes_alert_carries_the_namespace_the_webhook_route_matches() -> None:
    """The operator routes an AlertmanagerConfig only alerts labelled with its namespace; an
    aggregating expression (sum / sum, max, sum by (le)) drops the label, so every alert rule
    must set it itself, or it fires and reaches no one."""
    run = strict("kubernetes")
    [config] = run.of_type("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig")
    namespace = config.inputs["metadata"]["namespace"]
    alerts = [
        rule
        for prometheus_rule in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        for group in prometheus_rule.inputs["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    names = {rule["alert"] for rule in alerts}
    assert {"McpHigh5xxRate", "McpPostgresCpu", "McpRedisMemory", "McpAvailabilityBudgetBurn"} <= names
    assert [rule["alert"] for rule in alerts if rule["labels"].get("namespace") != namespace] == []


def test_kubernetes_refuses_a_webhook_without_the_operator() -> None:
    run = run_program(
        "dev",
        "kubernetes",
        overrides={"alertWebhookUrl": "pagerHook"},
        secret_overrides={"pagerHook": WEBHOOK},
    )
    assert isinstance(run.error, PlatformArgsError)
    assert "prometheus_operator" in str(run.error)


def _nowhere_else(run: ProgramRun, holder: Registration) -> None:
    """The URL is the credential: no other resource's inputs carry it."""
    others = [r.name for r in run.resources if r.urn != holder.urn and WEBHOOK in json.dumps(r.inputs)]
    assert others == []


@pytest.mark.parametrize(
    ("overrides", "secrets", "expected"),
    [
        ({"alertWebhookUrl": "pagerHook"}, {}, "alertWebhookUrl: got pagerHook (not set)"),
        ({"alertWebhookUrl": "pagerHook"}, {"pagerHook": "http://plain.example.com/hook"}, "an https:// URL"),
        ({"alertWebhookUrl": "https://hooks.example.com/x"}, {}, "alertWebhookUrl"),
    ],
)
def test_a_bad_webhook_is_refused_without_printing_it(
    overrides: dict[str, str], secrets: dict[str, str], expected: str
) -> None:
    run = run_program("dev", overrides=overrides, secret_overrides=secrets)
    assert isinstance(run.error, ConfigError), run.error
    assert expected in str(run.error)
    assert "plain.example.com" not in str(run.error)


def test_a_webhook_key_stored_in_plain_text_is_refused() -> None:
    run = run_program("dev", overrides={"alertWebhookUrl": "pagerHook", "pagerHook": WEBHOOK})
    assert isinstance(run.error, ConfigError), run.error
    assert "pagerHook" in str(run.error)
    assert WEBHOOK not in str(run.error)


def test_the_burn_rates_are_the_sre_workbooks() -> None:
    """Spelled out here so that a slip in mcp_deploy/slo.py cannot pass as its own expectation."""
    assert [(r.severity, r.long_seconds, r.short_seconds, r.factor) for r in BURN_RATES] == [
        ("page", 3600, 300, 14.4),
        ("page", 6 * 3600, 30 * 60, 6.0),
        ("ticket", 24 * 3600, 2 * 3600, 3.0),
        ("ticket", 72 * 3600, 6 * 3600, 1.0),
    ]


def test_latency_objectives_are_the_gateways_histogram_buckets() -> None:
    source = (ROOT / "server" / "src" / "mcp_notes" / "metrics.py").read_text()
    found = re.search(r"^LATENCY_BUCKETS = \(([^)]*)\)", source, re.MULTILINE)
    assert found is not None
    buckets = [round(float(value) * 1000) for value in found.group(1).split(",") if value.strip()]
    assert list(LATENCY_OBJECTIVES_MS) == buckets
    gateway = (ROOT / "gateway" / "src" / "mcp_gateway" / "metrics.py").read_text()
    assert "buckets=LATENCY_BUCKETS" in gateway  # the gateway's histogram uses them
