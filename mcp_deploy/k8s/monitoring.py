"""For clusters with the Prometheus operator: a ServiceMonitor for /metrics and a PrometheusRule
with the alerts the cloud targets have (5xx rate, p99 latency, replicas at max, database CPU and
disk, Redis memory)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.args import K8sArgs, McpServiceArgs
from mcp_deploy.k8s.app import SERVER, Server
from mcp_deploy.k8s.data import POSTGRES, REDIS
from mcp_deploy.k8s.meta import metadata, selector


def monitoring(name: str, args: McpServiceArgs, k: K8sArgs, app: Server, parent: pulumi.Resource) -> None:
    if not k.prometheus_operator:
        return
    ns = k.namespace
    inside = pulumi.ResourceOptions(parent=parent, depends_on=[app.namespace])
    k8s.apiextensions.CustomResource(
        f"{name}-server-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata=metadata(SERVER, ns, SERVER),
        spec={
            "selector": {"matchLabels": selector(SERVER)},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
        },
        opts=inside,
    )
    scope = f'namespace="{ns}"'
    postgres_pods = f'{scope},pod=~"{POSTGRES}-.*"'
    redis_pods = f'{scope},pod=~"{REDIS}-.*"'
    postgres_volumes = f'{scope},persistentvolumeclaim=~"{POSTGRES}-.*"'
    errors = f'sum(rate(mcp_requests_total{{{scope},status=~"http_5.."}}[5m]))'
    requests = f"sum(rate(mcp_requests_total{{{scope}}}[5m]))"
    latency = (
        f"histogram_quantile(0.99, sum by (le) (rate(mcp_request_duration_seconds_bucket{{{scope}}}[5m])))"
    )
    replicas = (
        f'kube_horizontalpodautoscaler_status_current_replicas{{{scope},horizontalpodautoscaler="{SERVER}"}}'
    )
    postgres_cpu = f'sum(rate(container_cpu_usage_seconds_total{{{postgres_pods},container="postgres"}}[5m]))'
    postgres_cpu_requested = f'sum(kube_pod_container_resource_requests{{{postgres_pods},resource="cpu"}})'
    disk_used = f"kubelet_volume_stats_used_bytes{{{postgres_volumes}}}"
    disk_size = f"kubelet_volume_stats_capacity_bytes{{{postgres_volumes}}}"
    redis_memory = f'max(container_memory_working_set_bytes{{{redis_pods},container="redis"}})'
    redis_limit = f'max(kube_pod_container_resource_limits{{{redis_pods},resource="memory"}})'
    rules = [
        ("McpHigh5xxRate", f"{errors} / {requests} > 0.05", "10m"),
        ("McpHighP99Latency", f"{latency} > 2", "15m"),
        ("McpReplicasAtMax", f"{replicas} >= {args.service.max_replicas}", "15m"),
        ("McpPostgresCpu", f"{postgres_cpu} / {postgres_cpu_requested} > 0.8", "15m"),
        ("McpPostgresDisk", f"{disk_used} / {disk_size} > 0.9", "5m"),
        ("McpRedisMemory", f"{redis_memory} / {redis_limit} > 0.8", "10m"),
    ]
    k8s.apiextensions.CustomResource(
        f"{name}-alerts",
        api_version="monitoring.coreos.com/v1",
        kind="PrometheusRule",
        metadata=metadata("mcp-alerts", ns, SERVER),
        spec={
            "groups": [
                {
                    "name": "mcp-deploy",
                    "rules": [
                        {
                            "alert": alert,
                            "expr": expr,
                            "for": duration,
                            "labels": {"severity": "page"},
                            "annotations": {"summary": f"{alert} on {args.domain}"},
                        }
                        for alert, expr, duration in rules
                    ],
                }
            ]
        },
        opts=inside,
    )
