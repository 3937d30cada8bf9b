"""With the Prometheus operator: alerts on the shared parts (database CPU and disk, Redis memory,
backups that failed or have not succeeded for a backup period and an hour), the gateway's
ServiceMonitor and the Postgres instances' PodMonitor. Per-server alerts are the servers'."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.drill_schedule import backup_missing_after
from mcp_deploy.k8s.alert_routing import routed
from mcp_deploy.k8s.cronjob_alerts import no_success_for, run_failed
from mcp_deploy.k8s.meta import operator_metadata, selector
from mcp_deploy.k8s.platform.gateway import GatewayAddress
from mcp_deploy.k8s.platform.postgres import METRICS_PORT_NAME, Postgres
from mcp_deploy.names import physical_name


def platform_alerts(
    name: str,
    domain: str,
    namespace: str,
    instance: str,
    postgres_cluster: str | None,
    redis_name: str | None,
    backup_job: str | None,
    backup_schedule: str,
    release: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource | None:
    group = alert_rules(
        physical_name(name), domain, namespace, postgres_cluster, redis_name, backup_job, backup_schedule
    )
    if not group["rules"]:
        return None
    return k8s.apiextensions.CustomResource(
        f"{name}-alerts",
        api_version="monitoring.coreos.com/v1",
        kind="PrometheusRule",
        metadata=operator_metadata(physical_name(name, "alerts"), namespace, "platform", instance, release),
        spec={"groups": [group]},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )


def alert_rules(
    group: str,
    domain: str,
    namespace: str,
    postgres_cluster: str | None,
    redis_name: str | None,
    backup_job: str | None,
    backup_schedule: str,
) -> dict[str, Any]:
    """The shared parts' alerts as one Prometheus rule group (also written to a plain rules file
    and unit tested with promtool: tests/infra/prometheus/platform/)."""
    scope = f'namespace="{namespace}"'
    rules: list[tuple[str, str, str]] = []
    if postgres_cluster is not None:
        pods = f'{scope},pod=~"{postgres_cluster}-[0-9]+"'
        volumes = f'{scope},persistentvolumeclaim=~"{postgres_cluster}-[0-9]+"'
        cpu = f'sum(rate(container_cpu_usage_seconds_total{{{pods},container="postgres"}}[5m]))'
        requested = f'sum(kube_pod_container_resource_requests{{{pods},resource="cpu"}})'
        used = f"kubelet_volume_stats_used_bytes{{{volumes}}}"
        capacity = f"kubelet_volume_stats_capacity_bytes{{{volumes}}}"
        rules += [
            ("McpPostgresCpu", f"{cpu} / {requested} > 0.8", "15m"),
            ("McpPostgresDisk", f"{used} / {capacity} > 0.9", "5m"),
        ]
    if redis_name is not None:
        pods = f'{scope},pod=~"{redis_name}-[0-9]+"'
        memory = f'max(container_memory_working_set_bytes{{{pods},container="redis"}})'
        limit = f'max(kube_pod_container_resource_limits{{{pods},resource="memory"}})'
        rules.append(("McpRedisMemory", f"{memory} / {limit} > 0.8", "10m"))
    if backup_job is not None:
        # kube-state-metrics: a run failed since the last success; no success in one backup period
        # and an hour (daily: 25 h).
        stale = int(backup_missing_after(backup_schedule).total_seconds())
        rules += [
            ("McpBackupFailed", run_failed(namespace, backup_job), "0m"),
            ("McpBackupMissing", no_success_for(namespace, backup_job, stale), "0m"),
        ]
    return {
        "name": group,
        "rules": [
            {
                "alert": alert,
                "expr": expr,
                "for": duration,
                "labels": {"severity": "page", **routed(namespace)},
                "annotations": {"summary": f"{alert} on {domain}"},
            }
            for alert, expr, duration in rules
        ],
    }


def gateway_monitor(
    name: str,
    address: GatewayAddress,
    release: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    """The gateway's /metrics (per route, server and tool), scraped from its private Service."""
    return k8s.apiextensions.CustomResource(
        f"{name}-gateway-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata=operator_metadata(address.instance, address.namespace, "gateway", address.instance, release),
        spec={
            "selector": {"matchLabels": selector(address.instance)},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, address.service]),
    )


def postgres_monitor(
    name: str,
    postgres: Postgres,
    namespace: str,
    instance: str,
    release: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    """CloudNativePG's exporter (port `metrics`, 9187) on the cluster's instance pods. Ours, not
    the operator's (`enablePodMonitor`): CloudNativePG 1.30 deprecates that for a PodMonitor one
    makes oneself, and the Cluster has no field that would label the operator's with `release`.
    Not named like the cluster, which is the operator's PodMonitor's name: a stack that had it
    on creates ours while the operator is still deleting its own."""
    return k8s.apiextensions.CustomResource(
        f"{name}-postgres-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="PodMonitor",
        metadata=operator_metadata(
            physical_name(name, "postgres-metrics"), namespace, "postgres", instance, release
        ),
        spec={
            # What CloudNativePG's own PodMonitor selects: the instances, not the operator's jobs.
            "selector": {"matchLabels": {**postgres.pod_labels, "cnpg.io/podRole": "instance"}},
            "podMetricsEndpoints": [{"port": METRICS_PORT_NAME, "interval": "30s"}],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, *postgres.resources]),
    )
