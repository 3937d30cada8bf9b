"""The shared Postgres: a CloudNativePG `Cluster` (the operator installed by Helm only when asked),
or a managed instance by URL, in which case nothing is deployed here.

Servers add their own role and database to the cluster as `DatabaseRole` and `Database` objects
(CloudNativePG 1.30+), so the cluster itself never changes when a server comes or goes:
`spec.managed.roles` is one atomic list a separately created server could not add to without
taking the whole list from the platform.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import PostgresSpec, Size

CNPG_CHART_VERSION = "0.29.0"  # operator 1.30.0: the first with the DatabaseRole CRD
CNPG_NAMESPACE = "cnpg-system"
PORT = 5432
# Each instance's exporter: "on port 9187, named metrics" (CloudNativePG, Monitoring).
METRICS_PORT, METRICS_PORT_NAME = 9187, "metrics"
RESOURCES: dict[Size, tuple[str, str]] = {
    "small": ("250m", "512Mi"),
    "medium": ("1", "4Gi"),
    "large": ("2", "8Gi"),
    "xlarge": ("4", "16Gi"),
}


@dataclass(frozen=True)
class Postgres:
    """What a server needs to get a database: in-cluster (`cluster` set) or external (`external_url`)."""

    cluster_name: str | None
    cluster: k8s.apiextensions.CustomResource | None
    external_url: pulumi.Input[str] | None

    @property
    def resources(self) -> tuple[pulumi.Resource, ...]:
        """What a workload on the in-cluster database waits for: its Cluster (none if external)."""
        return (self.cluster,) if self.cluster is not None else ()

    @property
    def host(self) -> str:
        return f"{self.cluster_name}-rw"

    @property
    def ca_secret(self) -> str:
        """CloudNativePG's CA for the server certificate, which names `<cluster>-rw[.<ns>[.svc]]`."""
        return f"{self.cluster_name}-ca"

    @property
    def pod_labels(self) -> dict[str, str]:
        # The operator labels every instance pod with its cluster's name.
        return {"cnpg.io/cluster": self.cluster_name or ""}


def postgres(
    name: str,
    spec: PostgresSpec,
    namespace: str,
    instance: str,
    storage_class: str | None,
    install_cnpg: bool,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> Postgres:
    if spec.external_url is not None:
        return Postgres(cluster_name=None, cluster=None, external_url=pulumi.Output.secret(spec.external_url))
    depends = list(depends_on)
    if install_cnpg:
        depends.append(_operator(name, parent))
    cluster_name = physical_name(name, "postgres", limit=50)  # pods and services add suffixes
    cpu, memory = RESOURCES[spec.size]
    storage: dict[str, object] = {"size": f"{spec.storage_gb}Gi"}
    if storage_class is not None:
        storage["storageClass"] = storage_class
    cluster = k8s.apiextensions.CustomResource(
        f"{name}-postgres",
        api_version="postgresql.cnpg.io/v1",
        kind="Cluster",
        metadata=metadata(cluster_name, namespace, "postgres", instance),
        spec={
            "instances": 2 if spec.high_availability else 1,
            "imageName": f"ghcr.io/cloudnative-pg/postgresql:{spec.version}",
            "storage": storage,
            "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
            "postgresql": {"parameters": {"log_min_duration_statement": "1000"}},
            "enableSuperuserAccess": False,
            "primaryUpdateStrategy": "unsupervised",
            # Off (the default) even with the Prometheus operator: the platform makes its own
            # PodMonitor (monitoring.postgres_monitor); `false` also removes the operator's one a
            # stack made before.
            "monitoring": {"enablePodMonitor": False},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends, protect=spec.deletion_protection),
    )
    return Postgres(cluster_name=cluster_name, cluster=cluster, external_url=None)


def _operator(name: str, parent: pulumi.Resource) -> k8s.helm.v3.Release:
    """Opt-in: one operator serves the whole cluster, so only one stack per cluster should ask."""
    return k8s.helm.v3.Release(
        f"{name}-cnpg-operator",
        name=physical_name(name, "cnpg", limit=53),  # Helm's limit for release names
        chart="cloudnative-pg",
        version=CNPG_CHART_VERSION,
        namespace=CNPG_NAMESPACE,
        create_namespace=True,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://cloudnative-pg.github.io/charts"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
