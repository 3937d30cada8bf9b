"""The shared Redis: the official image as a StatefulSet with a volume, AUTH from a Secret and a
`maxmemory` under the container's limit, or a managed Redis by URL (nothing deployed here)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mcp_deploy.image import pinned
from mcp_deploy.k8s.meta import REDIS_CLIENT, labels, metadata, selector
from mcp_deploy.k8s.pods import container_security, pod_security, scratch_tmp, secret_env
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import RedisSpec, Size

PORT = 6379
IMAGE = "redis:7.4-alpine"
USER = 10001  # any non-root UID works; fsGroup makes the volume writable
MEMORY_MIB: dict[Size, int] = {"small": 256, "medium": 1024, "large": 4096, "xlarge": 8192}
# allkeys-lru evicts only once `maxmemory` is reached; without it Redis grows until the kernel
# kills it at the container limit. The rest of the limit is for the AOF rewrite's fork,
# client buffers and fragmentation.
MAXMEMORY_SHARE = 0.75


@dataclass(frozen=True)
class Redis:
    url: pulumi.Output[str]  # secret
    in_cluster: bool
    name: str  # the in-cluster service, or "external"
    # What a server waits for before it starts: the pods and the Service that names them.
    resources: tuple[pulumi.Resource, ...]
    client_label: dict[str, str]


def maxmemory(memory_mib: int) -> str:
    return f"{int(memory_mib * MAXMEMORY_SHARE)}mb"


def redis(
    name: str,
    spec: RedisSpec,
    namespace: str,
    instance: str,
    storage_class: str | None,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> Redis:
    client_label = {REDIS_CLIENT: instance}
    if spec.external_url is not None:
        url = pulumi.Output.secret(spec.external_url)
        return Redis(url=url, in_cluster=False, name="external", resources=(), client_label=client_label)
    # The StatefulSet's name: its pods' controller-revision-hash label, <name>-<10-character
    # hash>, must fit a label value's 63.
    redis_name = physical_name(name, "redis", limit=52)
    inside = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    password = (
        pulumi.Output.secret(spec.auth_token)
        if spec.auth_token is not None
        else random.RandomPassword(
            f"{name}-redis-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=parent)
        ).result
    )
    secret = k8s.core.v1.Secret(
        f"{name}-redis",
        metadata=metadata(None, namespace, "redis", redis_name),  # auto-named: replaced on change
        type="Opaque",
        string_data={"REDIS_PASSWORD": pulumi.Output.secret(password)},
        opts=inside,
    )
    statefulset = _statefulset(name, redis_name, namespace, spec, storage_class, secret, inside, parent)
    service = k8s.core.v1.Service(
        f"{name}-redis",
        metadata=metadata(redis_name, namespace, "redis", redis_name),
        spec=k8s.core.v1.ServiceSpecArgs(
            selector=selector(redis_name),
            ports=[k8s.core.v1.ServicePortArgs(name="redis", port=PORT, target_port="redis")],
        ),
        opts=inside,
    )
    url = pulumi.Output.secret(
        pulumi.Output.from_input(password).apply(
            lambda pw: f"redis://:{quote(pw, safe='')}@{redis_name}.{namespace}.svc:{PORT}/0"
        )
    )
    return Redis(
        url=url, in_cluster=True, name=redis_name, resources=(statefulset, service), client_label=client_label
    )


def _statefulset(
    name: str,
    redis_name: str,
    namespace: str,
    spec: RedisSpec,
    storage_class: str | None,
    secret: k8s.core.v1.Secret,
    opts: pulumi.ResourceOptions,
    parent: pulumi.Resource,
) -> k8s.apps.v1.StatefulSet:
    ping = k8s.core.v1.ProbeArgs(
        exec_=k8s.core.v1.ExecActionArgs(command=["redis-cli", "ping"]),  # REDISCLI_AUTH: not in argv
        period_seconds=10,
        timeout_seconds=3,
        failure_threshold=3,
    )
    volume, mount = scratch_tmp()
    memory = MEMORY_MIB[spec.size]
    return k8s.apps.v1.StatefulSet(
        f"{name}-redis",
        metadata=metadata(redis_name, namespace, "redis", redis_name),
        spec=k8s.apps.v1.StatefulSetSpecArgs(
            service_name=redis_name,
            replicas=1,  # a shared limiter and cache: a restart loses nothing that matters
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(redis_name)),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels("redis", redis_name)),
                spec=k8s.core.v1.PodSpecArgs(
                    automount_service_account_token=False,
                    security_context=pod_security(USER),
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="redis",
                            image=pinned(IMAGE, parent),  # by digest, resolved at deploy time
                            image_pull_policy="IfNotPresent",
                            args=[
                                "sh",
                                "-c",
                                # The password goes into a config file on the pod's private
                                # tmpfs, not argv, where `ps` in the container would show it.
                                'printf \'requirepass "%s"\\n\' "$REDIS_PASSWORD" > /tmp/redis.conf && '
                                "exec redis-server /tmp/redis.conf --appendonly yes "
                                f"--maxmemory {maxmemory(memory)} --maxmemory-policy allkeys-lru "
                                f"--port {PORT} --dir /data",
                            ],
                            env=secret_env(
                                secret.metadata.name,
                                ["REDIS_PASSWORD", "REDISCLI_AUTH"],
                                key="REDIS_PASSWORD",
                            ),
                            ports=[k8s.core.v1.ContainerPortArgs(name="redis", container_port=PORT)],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "100m", "memory": f"{memory}Mi"},
                                limits={"cpu": "1", "memory": f"{memory}Mi"},
                            ),
                            readiness_probe=ping,
                            liveness_probe=ping,
                            security_context=container_security(),
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="data", mount_path="/data"),
                                mount,
                            ],
                        )
                    ],
                    volumes=[volume],
                ),
            ),
            volume_claim_templates=[
                k8s.core.v1.PersistentVolumeClaimArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(name="data"),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=storage_class,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": "5Gi"}),
                    ),
                )
            ],
        ),
        opts=opts,
    )
