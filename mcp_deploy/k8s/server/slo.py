"""With the Prometheus operator: a server's burn-rate alerts, on the gateway's metrics for its route.

The gateway sees every server's requests (a third-party image may serve no metrics at all), so
the indicators are its `gateway_requests_total` (5xx over all) and
`gateway_request_duration_seconds` (slower than the objective over all) for `route=<server>`,
as scraped by the gateway's ServiceMonitor (which labels targets with `namespace` and `service`).
Recording rules keep both labels, so two stacks sharing a Prometheus never mix their series.

`rule_groups` is the single rendering: the PrometheusRule's spec and the plain rules file
`promtool test rules` checks (tests/infra/prometheus/slo/) are both made from it.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.alert_routing import routed
from mcp_deploy.k8s.meta import operator_metadata
from mcp_deploy.slo import BURN_RATES, WINDOWS, BurnRate, Indicator, Slo, duration

ERRORS = "mcp:gateway_route_errors:ratio_rate"
SLOW = "mcp:gateway_route_slow:ratio_rate"
KEEP = "namespace, service, route"
# Streams a client holds open (GET) and session ends (DELETE) carry no JSON-RPC method ("-"):
# their duration is the client's choice, not the server's latency.
NOT_A_CALL = 'method!="-"'


def le(ms: int) -> str:
    """A bucket bound as prometheus_client writes `le`: 1000 ms -> "1.0", 250 -> "0.25"."""
    seconds = ms / 1000
    return f"{seconds:.1f}" if seconds == int(seconds) else repr(seconds)


def rule_groups(server: str, slo: Slo, namespace: str, gateway: str, url: str) -> list[dict[str, Any]]:
    """One group: the bad-request ratio of the route over every window, then the alerts."""
    scope = f'namespace="{namespace}",service="{gateway}",route="{server}"'
    rules: list[dict[str, Any]] = []
    for window in WINDOWS:
        w = duration(window)
        errors = f'sum by ({KEEP}) (rate(gateway_requests_total{{{scope},status=~"5.."}}[{w}]))'
        requests = f"sum by ({KEEP}) (rate(gateway_requests_total{{{scope}}}[{w}]))"
        fast = (
            f"sum by ({KEEP}) (rate(gateway_request_duration_seconds_bucket"
            f'{{{scope},{NOT_A_CALL},le="{le(slo.latency_p99_ms)}"}}[{w}]))'
        )
        calls = f"sum by ({KEEP}) (rate(gateway_request_duration_seconds_count{{{scope},{NOT_A_CALL}}}[{w}]))"
        # The server label tells one server's records from another's (promtool's duplicate lint).
        labels = {"server": server}
        rules.append({"record": f"{ERRORS}{w}", "expr": f"{errors} / {requests}", "labels": labels})
        rules.append({"record": f"{SLOW}{w}", "expr": f"1 - {fast} / {calls}", "labels": labels})
    for indicator in ("availability", "latency"):
        rules += [_alert(server, slo, indicator, rate, namespace, scope, url) for rate in BURN_RATES]
    return [{"name": f"{namespace}-{gateway}-{server}-slo", "rules": rules}]


def _alert(
    server: str, slo: Slo, indicator: Indicator, rate: BurnRate, namespace: str, scope: str, url: str
) -> dict[str, Any]:
    record = ERRORS if indicator == "availability" else SLOW
    threshold = slo.threshold(indicator, rate)
    long, short = duration(rate.long_seconds), duration(rate.short_seconds)
    what = (
        f"{slo.availability}% of requests without a 5xx"
        if indicator == "availability"
        else f"99% of requests within {slo.latency_p99_ms} ms"
    )
    return {
        "alert": "McpAvailabilityBudgetBurn" if indicator == "availability" else "McpLatencyBudgetBurn",
        "expr": f"{record}{long}{{{scope}}} > {threshold} and {record}{short}{{{scope}}} > {threshold}",
        "labels": {"severity": rate.severity, "server": server, "window": long, **routed(namespace)},
        "annotations": {
            "summary": f"{server}: error budget burning {rate.factor:g}x over {long} and {short}",
            "description": f"Objective {what} over 30 days ({url}); at this rate "
            f"{rate.budget_spent:.0%} of the budget is gone in {long}.",
        },
    }


def rules_file(groups: list[dict[str, Any]]) -> str:
    """The groups as a Prometheus rules file (JSON, which is YAML: no YAML library needed)."""
    return json.dumps({"groups": groups}, indent=2) + "\n"


def slo_rules(
    server: str,
    slo: Slo,
    instance: str,
    namespace: str,
    gateway: str,
    url: str,
    release: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        f"{server}-slo",
        api_version="monitoring.coreos.com/v1",
        kind="PrometheusRule",
        metadata=operator_metadata(f"{instance}-slo", namespace, server, instance, release),
        spec={"groups": rule_groups(server, slo, namespace, gateway, url)},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
