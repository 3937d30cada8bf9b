"""Names, labels and metadata every object of the kubernetes target shares.

Objects are told apart by `app.kubernetes.io/instance`, a physical name carrying the stack, so two
stacks sharing a namespace, and two servers of one platform, never select each other's pods.
"""

from __future__ import annotations

import pulumi_kubernetes as k8s

PART_OF = {"app.kubernetes.io/part-of": "mcp-deploy"}
INSTANCE = "app.kubernetes.io/instance"
# Pods that may reach the platform's in-cluster Postgres / Redis carry these, valued with the
# platform's instance name; the data tier's NetworkPolicies admit exactly them.
POSTGRES_CLIENT = "mcp-deploy.io/postgres-client"
REDIS_CLIENT = "mcp-deploy.io/redis-client"


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
