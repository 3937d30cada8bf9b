"""Postgres and Redis in the cluster, or managed ones by URL (then nothing is deployed here).

Postgres: the CloudNativePG operator (its upstream Helm chart, unless the cluster has it) and a
`Cluster` with persistent storage, TLS, and the app user's password from a Secret.
Redis: the official image as a StatefulSet with a volume and AUTH from a Secret. (Bitnami's chart
was the usual choice; its images stopped being freely maintained in 2025.)"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.args import K8sArgs, PostgresArgs, RedisArgs, Size
from mcp_deploy.image import pinned
from mcp_deploy.k8s.app import container_security, pod_security, scratch_tmp, secret_env
from mcp_deploy.k8s.meta import labels, metadata, selector

POSTGRES = "mcp-postgres"
# The operator labels every instance pod with its cluster's name; selectors use that, since
# CNPG also sets app.kubernetes.io/* labels of its own on those pods.
POSTGRES_POD_LABELS = {"cnpg.io/cluster": POSTGRES}
REDIS = "mcp-redis"
REDIS_PORT = 6379
CNPG_CHART_VERSION = "0.26.1"
REDIS_IMAGE = "redis:7.4-alpine"
REDIS_USER = 10001  # any non-root UID works; fsGroup makes the volume writable
POSTGRES_RESOURCES: dict[Size, tuple[str, str]] = {
    "small": ("250m", "512Mi"),
    "medium": ("1", "4Gi"),
    "large": ("2", "8Gi"),
    "xlarge": ("4", "16Gi"),
}
REDIS_MEMORY: dict[Size, str] = {"small": "256Mi", "medium": "1Gi", "large": "4Gi", "xlarge": "8Gi"}


@dataclass(frozen=True)
class DataTier:
    database_url: pulumi.Output[str]
    redis_url: pulumi.Output[str]
    # Each independently: False means a managed service by URL, nothing deployed here for it.
    postgres_in_cluster: bool
    redis_in_cluster: bool

    @property
    def postgres_name(self) -> str:
        return POSTGRES if self.postgres_in_cluster else "external"

    @property
    def redis_name(self) -> str:
        return REDIS if self.redis_in_cluster else "external"


def data_tier(
    name: str,
    args: K8sArgs,
    postgres: PostgresArgs,
    redis: RedisArgs,
    password: pulumi.Output[str],
    redis_password: pulumi.Output[str],
    namespace: k8s.core.v1.Namespace,
    parent: pulumi.Resource,
) -> DataTier:
    database_url = args.external_postgres_url or _postgres(name, args, postgres, password, namespace, parent)
    redis_url = args.external_redis_url or _redis(name, args, redis, redis_password, namespace, parent)
    return DataTier(
        database_url,
        redis_url,
        postgres_in_cluster=args.external_postgres_url is None,
        redis_in_cluster=args.external_redis_url is None,
    )


def _postgres(
    name: str,
    args: K8sArgs,
    postgres: PostgresArgs,
    password: pulumi.Output[str],
    namespace: k8s.core.v1.Namespace,
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    ns = args.namespace
    depends: list[pulumi.Resource] = [namespace]
    if args.install_cnpg:
        depends.append(
            k8s.helm.v3.Release(
                f"{name}-cnpg-operator",
                name="cnpg",
                chart="cloudnative-pg",
                version=CNPG_CHART_VERSION,
                namespace="cnpg-system",
                create_namespace=True,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(
                    repo="https://cloudnative-pg.github.io/charts"
                ),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    credentials = k8s.core.v1.Secret(
        f"{name}-postgres-app",
        metadata=metadata(f"{POSTGRES}-app", ns, POSTGRES),
        type="kubernetes.io/basic-auth",
        string_data={"username": "mcp", "password": pulumi.Output.secret(password)},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[namespace]),
    )
    cpu, memory = POSTGRES_RESOURCES[postgres.size]
    storage: dict[str, object] = {"size": f"{postgres.storage_gb}Gi"}
    if args.storage_class is not None:
        storage["storageClass"] = args.storage_class
    k8s.apiextensions.CustomResource(
        f"{name}-postgres",
        api_version="postgresql.cnpg.io/v1",
        kind="Cluster",
        metadata=metadata(POSTGRES, ns, POSTGRES),
        spec={
            "instances": 2 if postgres.high_availability else 1,
            "imageName": f"ghcr.io/cloudnative-pg/postgresql:{postgres.version}",
            "storage": storage,
            "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
            "bootstrap": {
                "initdb": {"database": "mcp", "owner": "mcp", "secret": {"name": credentials.metadata.name}}
            },
            "postgresql": {"parameters": {"log_min_duration_statement": "1000"}},
            "enableSuperuserAccess": False,
            "primaryUpdateStrategy": "unsupervised",
            "monitoring": {"enablePodMonitor": args.prometheus_operator},
        },
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[*depends, credentials], protect=postgres.deletion_protection
        ),
    )
    # The operator serves TLS with its own CA; the app verifies encryption, not the CA.
    return password.apply(
        lambda pw: f"postgresql://mcp:{quote(pw, safe='')}@{POSTGRES}-rw.{ns}.svc:5432/mcp?sslmode=require"
    )


def _redis(
    name: str,
    args: K8sArgs,
    redis: RedisArgs,
    password: pulumi.Output[str],
    namespace: k8s.core.v1.Namespace,
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    ns = args.namespace
    inside = pulumi.ResourceOptions(parent=parent, depends_on=[namespace])
    secret = k8s.core.v1.Secret(
        f"{name}-redis",
        metadata=metadata(REDIS, ns, REDIS),
        type="Opaque",
        string_data={"REDIS_PASSWORD": pulumi.Output.secret(password)},
        opts=inside,
    )

    ping = k8s.core.v1.ProbeArgs(
        exec_=k8s.core.v1.ExecActionArgs(
            # REDISCLI_AUTH keeps the password out of the probe's argv
            command=["redis-cli", "ping"]
        ),
        period_seconds=10,
        timeout_seconds=3,
        failure_threshold=3,
    )
    volume, mount = scratch_tmp()
    memory = REDIS_MEMORY[redis.size]
    k8s.apps.v1.StatefulSet(
        f"{name}-redis",
        metadata=metadata(REDIS, ns, REDIS),
        spec=k8s.apps.v1.StatefulSetSpecArgs(
            service_name=REDIS,
            replicas=1,  # a shared limiter and cache: a restart loses nothing that matters
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(REDIS)),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels(REDIS)),
                spec=k8s.core.v1.PodSpecArgs(
                    automount_service_account_token=False,
                    security_context=pod_security(REDIS_USER),
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="redis",
                            image=pinned(REDIS_IMAGE, parent),  # by digest, resolved at deploy time
                            image_pull_policy="IfNotPresent",
                            args=[
                                "sh",
                                "-c",
                                # The password goes into a config file on the pod's private
                                # tmpfs, not argv, where `ps` in the container would show it.
                                'printf \'requirepass "%s"\\n\' "$REDIS_PASSWORD" > /tmp/redis.conf && '
                                "exec redis-server /tmp/redis.conf --appendonly yes "
                                f"--maxmemory-policy allkeys-lru --port {REDIS_PORT} --dir /data",
                            ],
                            # REDIS_PASSWORD for the server's config line, REDISCLI_AUTH for the probe
                            env=secret_env(secret, ["REDIS_PASSWORD", "REDISCLI_AUTH"], key="REDIS_PASSWORD"),
                            ports=[k8s.core.v1.ContainerPortArgs(name="redis", container_port=REDIS_PORT)],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "100m", "memory": memory},
                                limits={"cpu": "1", "memory": memory},
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
                        storage_class_name=args.storage_class,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": "5Gi"}),
                    ),
                )
            ],
        ),
        opts=inside,
    )
    k8s.core.v1.Service(
        f"{name}-redis",
        metadata=metadata(REDIS, ns, REDIS),
        spec=k8s.core.v1.ServiceSpecArgs(
            selector=selector(REDIS),
            ports=[k8s.core.v1.ServicePortArgs(name="redis", port=REDIS_PORT, target_port="redis")],
        ),
        opts=inside,
    )
    return password.apply(lambda pw: f"redis://:{quote(pw, safe='')}@{REDIS}.{ns}.svc:{REDIS_PORT}/0")
