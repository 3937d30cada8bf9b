"""The platform's namespace, under the `restricted` Pod Security Standard."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import labels


def namespace(
    name: str, namespace_name: str, instance: str, parent: pulumi.Resource
) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=namespace_name,
            labels={**labels("platform", instance), "pod-security.kubernetes.io/enforce": "restricted"},
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
