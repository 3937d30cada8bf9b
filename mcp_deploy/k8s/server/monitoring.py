"""With the Prometheus operator, for our reference server (which serves /metrics): a
ServiceMonitor and its alerts (5xx rate, p99 latency, replicas at max). Other images' metrics
are unknown here, so they get none."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.alert_routing import routed
from mcp_deploy.k8s.meta import operator_metadata, selector
from mcp_deploy.server_spec import ServerSpec


def server_monitoring(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    domain: str,
    release: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> None:
    opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    k8s.apiextensions.CustomResource(
        f"{spec.name}-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata=operator_metadata(instance, namespace, spec.name, instance, release),
        spec={
            "selector": {"matchLabels": selector(instance)},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
        },
        opts=opts,
    )
    # ServiceMonitor targets carry the Service's name as `service`.
    scope = f'namespace="{namespace}",service="{instance}"'
    errors = f'sum(rate(mcp_requests_total{{{scope},status=~"http_5.."}}[5m]))'
    requests = f"sum(rate(mcp_requests_total{{{scope}}}[5m]))"
    latency = (
        f"histogram_quantile(0.99, sum by (le) (rate(mcp_request_duration_seconds_bucket{{{scope}}}[5m])))"
    )
    replicas = (
        f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{namespace}",'
        f'horizontalpodautoscaler="{instance}"}}'
    )
    rules = [
        ("McpHigh5xxRate", f"{errors} / {requests} > 0.05", "10m"),
        ("McpHighP99Latency", f"{latency} > 2", "15m"),
        ("McpReplicasAtMax", f"{replicas} >= {spec.max_replicas}", "15m"),
    ]
    k8s.apiextensions.CustomResource(
        f"{spec.name}-alerts",
        api_version="monitoring.coreos.com/v1",
        kind="PrometheusRule",
        metadata=operator_metadata(instance, namespace, spec.name, instance, release),
        spec={
            "groups": [
                {
                    "name": instance,
                    "rules": [
                        {
                            "alert": alert,
                            "expr": expr,
                            "for": duration,
                            "labels": {"severity": "page", "server": spec.name, **routed(namespace)},
                            "annotations": {"summary": f"{alert}: {spec.public_url(domain)}"},
                        }
                        for alert, expr, duration in rules
                    ],
                }
            ]
        },
        opts=opts,
    )
