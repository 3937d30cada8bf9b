"""The server: namespace, a ServiceAccount without an API token, settings in a ConfigMap, secrets
in a Secret (by secretKeyRef), a hardened Deployment, its Service, HPA and PodDisruptionBudget."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.args import DRAIN_SECONDS, SERVER_PORT, McpServiceArgs
from mcp_deploy.k8s.meta import labels, metadata, selector

SERVER = "mcp-server"
SERVER_USER = 10001  # the image's non-root user


@dataclass(frozen=True)
class Server:
    namespace: k8s.core.v1.Namespace
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    secret: k8s.core.v1.Secret


def pod_security(user: int = SERVER_USER) -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=user,
        run_as_group=user,
        fs_group=user,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


def scratch_tmp(disk_size: str | None = None) -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    """The root filesystem is read-only; /tmp is a small memory-backed scratch space, or, with
    `disk_size`, node disk (the backup job stages a whole dump there)."""
    source = (
        k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=disk_size)
        if disk_size is not None
        else k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="64Mi")
    )
    return (
        k8s.core.v1.VolumeArgs(name="tmp", empty_dir=source),
        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
    )


def secret_env(
    secret: k8s.core.v1.Secret, names: list[str], key: str | None = None
) -> list[k8s.core.v1.EnvVarArgs]:
    """Env vars from `secret`, each from the key of its own name, or all from `key`."""
    return [
        k8s.core.v1.EnvVarArgs(
            name=name,
            value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret.metadata.name, key=key or name)
            ),
        )
        for name in names
    ]


def namespace_resource(name: str, namespace: str, parent: pulumi.Resource) -> k8s.core.v1.Namespace:
    """The stack's namespace, under the `restricted` Pod Security Standard."""
    return k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=namespace,
            labels={**labels("mcp-deploy"), "pod-security.kubernetes.io/enforce": "restricted"},
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def server(
    name: str,
    args: McpServiceArgs,
    image: pulumi.Output[str],
    database_url: pulumi.Output[str],
    redis_url: pulumi.Output[str],
    request_state_key: pulumi.Output[str],
    namespace: k8s.core.v1.Namespace,
    parent: pulumi.Resource,
) -> Server:
    ns = args.k8s.namespace
    inside = pulumi.ResourceOptions(parent=parent, depends_on=[namespace])
    account = k8s.core.v1.ServiceAccount(
        f"{name}-server",
        metadata=metadata(SERVER, ns, SERVER),
        automount_service_account_token=False,
        opts=inside,
    )
    settings = {"MCP_HOST": "0.0.0.0", "MCP_PORT": str(SERVER_PORT), **args.server_settings()}
    config_map = k8s.core.v1.ConfigMap(
        f"{name}-server", metadata=metadata(SERVER, ns, SERVER), data=settings, opts=inside
    )
    secret = k8s.core.v1.Secret(
        f"{name}-server",
        metadata=metadata(SERVER, ns, SERVER),
        type="Opaque",
        string_data={
            "DATABASE_URL": pulumi.Output.secret(database_url),
            "REDIS_URL": pulumi.Output.secret(redis_url),
            "MCP_REQUEST_STATE_KEY": pulumi.Output.secret(request_state_key),
        },
        opts=inside,
    )
    volume, mount = scratch_tmp()
    millicores = math.ceil(args.service.cpu * 1000 / 1024)
    container = k8s.core.v1.ContainerArgs(
        name="server",
        image=image,
        args=["serve"],
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=SERVER_PORT)],
        env_from=[
            k8s.core.v1.EnvFromSourceArgs(
                config_map_ref=k8s.core.v1.ConfigMapEnvSourceArgs(name=config_map.metadata.name)
            )
        ],
        env=secret_env(secret, ["DATABASE_URL", "REDIS_URL", "MCP_REQUEST_STATE_KEY"]),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": f"{millicores}m", "memory": f"{args.service.memory_mib}Mi"},
            limits={"cpu": f"{millicores * 2}m", "memory": f"{args.service.memory_mib}Mi"},
        ),
        startup_probe=_probe("/health", period=2, failures=30),
        readiness_probe=_probe("/ready", period=10, failures=3),
        liveness_probe=_probe("/health", period=15, failures=3),
        security_context=container_security(),
        volume_mounts=[mount],
    )
    deployment = k8s.apps.v1.Deployment(
        f"{name}-server",
        metadata=metadata(SERVER, ns, SERVER),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=args.service.min_replicas,
            revision_history_limit=5,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(SERVER)),
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
            ),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels(SERVER)),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name=account.metadata.name,
                    automount_service_account_token=False,
                    security_context=pod_security(),
                    termination_grace_period_seconds=DRAIN_SECONDS + 15,  # longer than the server drains
                    topology_spread_constraints=[
                        _spread("topology.kubernetes.io/zone"),
                        _spread("kubernetes.io/hostname"),
                    ],
                    containers=[container],
                    volumes=[volume],
                ),
            ),
        ),
        # The HPA owns the replica count after the first rollout.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[namespace], ignore_changes=["spec.replicas"]),
    )
    service = k8s.core.v1.Service(
        f"{name}-server",
        metadata=metadata(SERVER, ns, SERVER),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector(SERVER),
            ports=[k8s.core.v1.ServicePortArgs(name="http", port=80, target_port="http")],
        ),
        opts=inside,
    )
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-server",
        metadata=metadata(SERVER, ns, SERVER),
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                api_version="apps/v1", kind="Deployment", name=deployment.metadata.name
            ),
            min_replicas=max(1, args.service.min_replicas),
            max_replicas=args.service.max_replicas,
            metrics=[
                k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource",
                    resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu",
                        target=k8s.autoscaling.v2.MetricTargetArgs(
                            type="Utilization", average_utilization=args.service.target_cpu_percent
                        ),
                    ),
                )
            ],
        ),
        opts=inside,
    )
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-server",
        metadata=metadata(SERVER, ns, SERVER),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(SERVER))
        ),
        opts=inside,
    )
    return Server(namespace=namespace, deployment=deployment, service=service, secret=secret)


def _probe(path: str, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port="http"),
        period_seconds=period,
        timeout_seconds=3,
        failure_threshold=failures,
    )


def _spread(topology_key: str) -> k8s.core.v1.TopologySpreadConstraintArgs:
    return k8s.core.v1.TopologySpreadConstraintArgs(
        max_skew=1,
        topology_key=topology_key,
        when_unsatisfiable="ScheduleAnyway",
        label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(SERVER)),
    )
