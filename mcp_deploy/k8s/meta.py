"""Names, labels and metadata every object of the kubernetes target shares.

Objects are told apart by `app.kubernetes.io/instance`, a physical name carrying the stack, so two
stacks sharing a namespace, and two servers of one platform, never select each other's pods.
"""

from __future__ import annotations

import re

import pulumi_kubernetes as k8s

from mcp_deploy import names

PART_OF = {"app.kubernetes.io/part-of": "mcp-deploy"}
INSTANCE = "app.kubernetes.io/instance"
# Pods that may reach the platform's in-cluster Postgres / Redis carry these, valued with the
# platform's instance name; the data tier's NetworkPolicies admit exactly them.
POSTGRES_CLIENT = "mcp-deploy.io/postgres-client"
REDIS_CLIENT = "mcp-deploy.io/redis-client"
# kube-prometheus-stack's Prometheus selects only ServiceMonitors, PodMonitors and PrometheusRules
# labelled `release: <its Helm release>` (the chart's `*SelectorNilUsesHelmValues: true`); ours
# carry the label with the release named in k8s.prometheus_release.
RELEASE = "release"
LABEL_VALUE = re.compile(names.LABEL_VALUE)
NAMESPACE_NAME = re.compile(names.DNS_LABEL)


def labels(component: str, instance: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": component, INSTANCE: instance, **PART_OF}


def selector(instance: str) -> dict[str, str]:
    return {INSTANCE: instance}


def metadata(
    name: str | None,
    namespace: str,
    component: str,
    instance: str,
    annotations: dict[str, str] | None = None,
) -> k8s.meta.v1.ObjectMetaArgs:
    """`name=None` lets the provider name the object (`<resource name>-<random>`), which it
    replaces under a new name when its data changes (see server/secrets.py)."""
    return k8s.meta.v1.ObjectMetaArgs(
        name=name, namespace=namespace, labels=labels(component, instance), annotations=annotations
    )


def operator_metadata(
    name: str, namespace: str, component: str, instance: str, release: str
) -> k8s.meta.v1.ObjectMetaArgs:
    """For the objects a Prometheus selects by label (ServiceMonitor, PodMonitor, PrometheusRule):
    `release: <release>` besides ours, unless `release` is ""."""
    found = labels(component, instance)
    if release:
        found[RELEASE] = release
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=found)
