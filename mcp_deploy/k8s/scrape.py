"""How Prometheus finds a pod's /metrics on kubernetes: the `prometheus.io/*` annotations a plain
Prometheus (the community chart's kubernetes-pods job) reads, always; and with the Prometheus
operator a ServiceMonitor for the servers monitoring.py does not cover (it covers our reference
server), labelled as the dashboards expect."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.dashboards.metrics import PLATFORM_LABEL, SERVICE_LABEL
from mcp_deploy.k8s.meta import operator_metadata, selector
from mcp_deploy.server_spec import MetricsUse


def scrape_annotations(metrics: MetricsUse | None) -> dict[str, str]:
    if metrics is None:
        return {}
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(metrics.port),
        "prometheus.io/path": metrics.path,
    }


def service_monitor(
    name: str,
    instance: str,
    namespace: str,
    platform: str,
    metrics: MetricsUse,
    server_port: int,
    release: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    """Through the server's Service (port `http`), or, when the metrics port is another one, by
    that port number on the Service's pods."""
    endpoint: dict[str, object] = {"path": metrics.path, "interval": "30s"}
    if metrics.port == server_port:
        endpoint["port"] = "http"
    else:
        endpoint["targetPort"] = metrics.port
    endpoint["relabelings"] = [
        {"targetLabel": PLATFORM_LABEL, "replacement": platform, "action": "replace"},
        {"targetLabel": SERVICE_LABEL, "replacement": name, "action": "replace"},
    ]
    return k8s.apiextensions.CustomResource(
        f"{name}-metrics-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata=operator_metadata(f"{instance}-metrics", namespace, name, instance, release),
        spec={"selector": {"matchLabels": selector(instance)}, "endpoints": [endpoint]},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
