"""Names and labels every object of the kubernetes target shares."""

from __future__ import annotations

import pulumi_kubernetes as k8s

PART_OF = {"app.kubernetes.io/part-of": "mcp-deploy"}


def labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": component, **PART_OF}


def selector(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": component}


def metadata(
    name: str, namespace: str, component: str, annotations: dict[str, str] | None = None
) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name=name, namespace=namespace, labels=labels(component), annotations=annotations
    )
