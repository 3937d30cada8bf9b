"""The platform's Grafana dashboard as a ConfigMap labelled `grafana_dashboard: "1"`, the label
the Grafana Helm chart's dashboard sidecar loads from (kube-prometheus-stack's default), over the
series of this namespace."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.dashboards.grafana import grafana_dashboard
from mcp_deploy.dashboards.panels import Query
from mcp_deploy.k8s.meta import labels
from mcp_deploy.names import physical_name

SIDECAR_LABEL = {"grafana_dashboard": "1"}
FILE = "mcp-dashboard.json"


def native_queries(namespace: str, backup_cronjob: str | None) -> dict[str, tuple[Query, ...]]:
    """kube-state-metrics series: the Deployments' available replicas, and the backup CronJob's
    last successful run as an age."""
    scope = f'namespace="{namespace}"'
    replicas = Query(
        "{{deployment}}",
        f"kube_deployment_status_replicas_available{{{scope}}}",
        "kube_deployment_status_replicas_available",
    )
    queries: dict[str, tuple[Query, ...]] = {"replicas": (replicas,)}
    if backup_cronjob is not None:
        last = f'kube_cronjob_status_last_successful_time{{{scope},cronjob="{backup_cronjob}"}}'
        queries["backups"] = (
            Query("{{cronjob}}", f"time() - {last}", "kube_cronjob_status_last_successful_time"),
        )
    return queries


def dashboard_config_map(
    name: str,
    namespace: str,
    instance: str,
    backup_cronjob: str | None,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.core.v1.ConfigMap:
    title = f"MCP {instance}"
    # Grafana keys dashboards by uid (at most 40 characters): stable per platform and namespace.
    uid = "mcp-" + hashlib.sha256(f"{namespace}/{instance}".encode()).hexdigest()[:20]
    body = grafana_dashboard(
        uid, title, f'namespace="{namespace}"', native_queries(namespace, backup_cronjob)
    )
    return k8s.core.v1.ConfigMap(
        f"{name}-dashboard",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=physical_name(name, "dashboard"),
            namespace=namespace,
            labels={**labels("platform", instance), **SIDECAR_LABEL},
        ),
        data={FILE: body},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
