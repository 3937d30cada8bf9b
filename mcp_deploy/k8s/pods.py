"""Pod and container settings shared by the servers, the gateway, Redis and the backup job."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import selector


def pod_security(user: int | None) -> k8s.core.v1.PodSecurityContextArgs:
    """Non-root always (the namespace enforces the `restricted` standard); the image's own user
    unless one is given."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=user,
        run_as_group=user,
        fs_group=user,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security(read_only_root: bool = True) -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=read_only_root,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


def scratch_tmp(disk_size: str | None = None) -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    """A writable /tmp under a read-only root: small and memory-backed, or, with `disk_size`, node
    disk (the backup job stages a whole dump there)."""
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
    secret_name: pulumi.Input[str], names: list[str], key: str | None = None
) -> list[k8s.core.v1.EnvVarArgs]:
    """Env vars by reference to `secret_name`, each from the key of its own name, or all from `key`."""
    return [
        k8s.core.v1.EnvVarArgs(
            name=name,
            value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=key or name)
            ),
        )
        for name in names
    ]


# On the pod template: changes whenever a Secret the pods read is written (see rollout_annotation).
ROLLOUT_ANNOTATION = "mcp-deploy.io/secret-version"


def rollout_annotation(*secrets: k8s.core.v1.Secret) -> pulumi.Output[str]:
    """`<name>@<resourceVersion>` of each Secret. The Secrets have no fixed name: a changed one is
    replaced under a new name, so the template changes with it; where the provider updates
    Secrets in place instead (`enableSecretMutable`), the resourceVersion, which every write
    bumps, still changes the template and the pods roll."""
    parts = [
        pulumi.Output.all(secret.metadata.name, secret.metadata.resource_version).apply(
            lambda found: f"{found[0]}@{found[1] or ''}"
        )
        for secret in secrets
    ]
    return pulumi.Output.all(*parts).apply(lambda found: ",".join(found))


def plain_env(values: dict[str, str]) -> list[k8s.core.v1.EnvVarArgs]:
    """Plain settings inline in the pod template: a change is a template change, so pods roll."""
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(values.items())]


POSTGRES_CA_DIR = "/var/run/mcp-deploy/postgres-ca"


def postgres_ca(ca_secret: str) -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    """The CloudNativePG cluster's CA (its `<cluster>-ca` Secret), for sslmode=verify-full."""
    return (
        k8s.core.v1.VolumeArgs(
            name="postgres-ca",
            secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=ca_secret, items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")]
            ),
        ),
        k8s.core.v1.VolumeMountArgs(name="postgres-ca", mount_path=POSTGRES_CA_DIR, read_only=True),
    )


def probe(path: str | None, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    """An HTTP GET on the container's `http` port and `path`, or a TCP connect when it has no path."""
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port="http") if path else None,
        tcp_socket=None if path else k8s.core.v1.TCPSocketActionArgs(port="http"),
        period_seconds=period,
        timeout_seconds=3,
        failure_threshold=failures,
    )


def spread(instance: str, topology_key: str) -> k8s.core.v1.TopologySpreadConstraintArgs:
    return k8s.core.v1.TopologySpreadConstraintArgs(
        max_skew=1,
        topology_key=topology_key,
        when_unsatisfiable="ScheduleAnyway",
        label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance)),
    )


def cpu_autoscaler(
    name: str,
    meta: k8s.meta.v1.ObjectMetaArgs,
    deployment: k8s.apps.v1.Deployment,
    replicas: tuple[int, int],
    cpu_percent: int,
    opts: pulumi.ResourceOptions,
) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    """An HPA on `deployment` between `replicas` (min, max), holding average CPU at `cpu_percent`."""
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        name,
        metadata=meta,
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                api_version="apps/v1", kind="Deployment", name=deployment.metadata.name
            ),
            min_replicas=replicas[0],
            max_replicas=replicas[1],
            metrics=[
                k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource",
                    resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu",
                        target=k8s.autoscaling.v2.MetricTargetArgs(
                            type="Utilization", average_utilization=cpu_percent
                        ),
                    ),
                )
            ],
        ),
        opts=opts,
    )
