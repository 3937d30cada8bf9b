"""The server's pods: a ServiceAccount without an API token, a hardened Deployment on the
server's own port, probes and command, its ClusterIP Service, HPA and PodDisruptionBudget.

A server whose sessions are sticky also gets a headless Service, `<service>-pods`: its DNS name
resolves to every ready pod, and the gateway pins each Mcp-Session-Id to one of those addresses
(for every gateway replica alike, through Redis). Affinity on the ClusterIP Service could not do
that: all traffic comes from a few gateway pods, and kube-proxy's ClientIP affinity would pin
each of them, not each session, to one replica."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import labels, metadata, selector
from mcp_deploy.k8s.pods import (
    ROLLOUT_ANNOTATION,
    container_security,
    cpu_autoscaler,
    plain_env,
    pod_security,
    probe,
    scratch_tmp,
    secret_env,
    spread,
)
from mcp_deploy.k8s.scrape import scrape_annotations
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import DRAIN_SECONDS, ServerSpec


@dataclass(frozen=True)
class Workload:
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    headless: k8s.core.v1.Service | None  # sticky servers only
    upstream_host: str  # the Service the gateway sends to

    @property
    def resources(self) -> tuple[pulumi.Resource, ...]:
        """What the gateway waits for before it sends here."""
        return (self.deployment, self.service, *((self.headless,) if self.headless else ()))


@dataclass(frozen=True)
class PodInputs:
    """What the pod template takes from elsewhere."""

    image: pulumi.Input[str]
    env: dict[str, str]
    secret_name: pulumi.Input[str]
    rollout: pulumi.Input[str]  # changes whenever the Secret's data does
    pod_labels: dict[str, str]  # e.g. the data tier's client labels
    volumes: list[k8s.core.v1.VolumeArgs]
    mounts: list[k8s.core.v1.VolumeMountArgs]


def workload(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    pod: PodInputs,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> Workload:
    inside = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    name = spec.name
    account = k8s.core.v1.ServiceAccount(
        f"{name}-server",
        metadata=metadata(instance, namespace, name, instance),
        automount_service_account_token=False,
        opts=inside,
    )
    deployment = k8s.apps.v1.Deployment(
        f"{name}-server",
        metadata=metadata(instance, namespace, name, instance),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=max(1, spec.min_replicas),
            revision_history_limit=5,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance)),
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
            ),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    labels={**labels(name, instance), **pod.pod_labels},
                    annotations={ROLLOUT_ANNOTATION: pod.rollout, **scrape_annotations(spec.metrics)},
                ),
                spec=_pod_spec(spec, instance, account, pod),
            ),
        ),
        # The HPA owns the replica count after the first rollout.
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[*depends_on, account], ignore_changes=["spec.replicas"]
        ),
    )
    service = k8s.core.v1.Service(
        f"{name}-server",
        metadata=metadata(instance, namespace, name, instance),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector(instance),
            ports=[k8s.core.v1.ServicePortArgs(name="http", port=spec.port, target_port="http")],
        ),
        opts=inside,
    )
    headless = _headless(spec, instance, namespace, inside) if spec.sticky else None
    cpu_autoscaler(
        f"{spec.name}-server",
        metadata(instance, namespace, spec.name, instance),
        deployment,
        (max(1, spec.min_replicas), spec.max_replicas),
        spec.target_cpu_percent,
        inside,
    )
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-server",
        metadata=metadata(instance, namespace, name, instance),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance))
        ),
        opts=inside,
    )
    return Workload(
        deployment=deployment,
        service=service,
        headless=headless,
        upstream_host=headless_name(instance) if spec.sticky else instance,
    )


def headless_name(instance: str) -> str:
    """`<service>-pods`, trimmed with a hash where that passes 63 characters."""
    return physical_name(instance, "pods", stack="")


def _headless(
    spec: ServerSpec, instance: str, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Service:
    return k8s.core.v1.Service(
        f"{spec.name}-pods",
        metadata=metadata(headless_name(instance), namespace, spec.name, instance),
        spec=k8s.core.v1.ServiceSpecArgs(
            cluster_ip="None",
            selector=selector(instance),
            # Only ready pods: a session is never pinned to a replica that cannot serve it yet.
            publish_not_ready_addresses=False,
            ports=[k8s.core.v1.ServicePortArgs(name="http", port=spec.port, target_port="http")],
        ),
        opts=opts,
    )


def _ports(spec: ServerSpec) -> list[k8s.core.v1.ContainerPortArgs]:
    """The MCP port, and a metrics port of its own if there is one: a ServiceMonitor's
    `targetPort` finds only a port the container declares (scrape.py)."""
    ports = [k8s.core.v1.ContainerPortArgs(name="http", container_port=spec.port)]
    if spec.metrics is not None and spec.metrics.port != spec.port:
        ports.append(k8s.core.v1.ContainerPortArgs(name="metrics", container_port=spec.metrics.port))
    return ports


def _pod_spec(
    spec: ServerSpec, instance: str, account: k8s.core.v1.ServiceAccount, pod: PodInputs
) -> k8s.core.v1.PodSpecArgs:
    volume, mount = scratch_tmp()
    millicores = math.ceil(spec.cpu * 1000 / 1024)
    container = k8s.core.v1.ContainerArgs(
        name="server",
        image=pod.image,
        command=spec.command,
        args=spec.args,
        ports=_ports(spec),
        env=[*plain_env(pod.env), *secret_env(pod.secret_name, spec.secret_env_names)],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": f"{millicores}m", "memory": f"{spec.memory}Mi"},
            limits={"cpu": f"{millicores * 2}m", "memory": f"{spec.memory}Mi"},
        ),
        startup_probe=probe(spec.liveness, period=2, failures=30),
        readiness_probe=probe(spec.readiness, period=10, failures=3),
        liveness_probe=probe(spec.liveness, period=15, failures=3),
        security_context=container_security(spec.read_only_root_filesystem),
        volume_mounts=[mount, *pod.mounts],
    )
    return k8s.core.v1.PodSpecArgs(
        service_account_name=account.metadata.name,
        automount_service_account_token=False,
        security_context=pod_security(spec.user),
        termination_grace_period_seconds=DRAIN_SECONDS + 15,  # longer than our server drains
        topology_spread_constraints=[
            spread(instance, "topology.kubernetes.io/zone"),
            spread(instance, "kubernetes.io/hostname"),
        ],
        image_pull_secrets=(
            [k8s.core.v1.LocalObjectReferenceArgs(name=spec.image_pull_secret)]
            if spec.image_pull_secret
            else None
        ),
        containers=[container],
        volumes=[volume, *pod.volumes],
    )
