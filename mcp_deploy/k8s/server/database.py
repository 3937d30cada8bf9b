"""The server's own role and database on the platform's CloudNativePG cluster, and its URL.

`DatabaseRole` and `Database` objects (CloudNativePG 1.30+) beside the server, not entries in
the cluster's spec: the platform's `Cluster` never changes when a server comes or goes. The
role's password is a Pulumi random password in a basic-auth Secret the operator reads; the URL
verifies the server certificate against the cluster's CA (sslmode=verify-full). Both objects
keep the role and data when deleted (reclaim policy `retain`), like a protected volume.

With a managed Postgres (`postgres.external_url`) nothing can reach inside it from here: the
server gets that URL itself, and its database is whatever the URL names.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.k8s.platform.postgres import PORT, Postgres
from mcp_deploy.k8s.pods import POSTGRES_CA_DIR


@dataclass(frozen=True)
class Database:
    url: pulumi.Output[str]  # secret
    resources: tuple[pulumi.Resource, ...]  # what the workload must wait for


def sql_name(server: str) -> str:
    """Role and database name: the server's name, `-` as `_` (no quoting needed in SQL)."""
    return server.replace("-", "_")


def database(
    name: str, instance: str, namespace: str, postgres: Postgres, depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> Database:  # fmt: skip
    if postgres.cluster_name is None:
        assert postgres.external_url is not None
        return Database(url=pulumi.Output.secret(postgres.external_url), resources=())
    inside = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    role = sql_name(name)
    password = random.RandomPassword(
        f"{name}-postgres-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    credentials = k8s.core.v1.Secret(
        f"{name}-postgres-role",
        metadata=metadata(None, namespace, name, instance),  # auto-named: replaced on change
        type="kubernetes.io/basic-auth",
        string_data={"username": role, "password": pulumi.Output.secret(password.result)},
        opts=inside,
    )
    cluster = {"name": postgres.cluster_name}
    # The Cluster waits for the operator's Helm release when the stack installs it: so do these,
    # whose kinds (CRDs) that release brings, and which name the cluster.
    on_cluster = [*depends_on, *postgres.resources]
    database_role = k8s.apiextensions.CustomResource(
        f"{name}-postgres-role",
        api_version="postgresql.cnpg.io/v1",
        kind="DatabaseRole",
        metadata=metadata(instance, namespace, name, instance),
        spec={
            "name": role,
            "cluster": cluster,
            "ensure": "present",
            "login": True,
            "passwordSecret": {"name": credentials.metadata.name},
            "databaseRoleReclaimPolicy": "retain",
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*on_cluster, credentials]),
    )
    database_object = k8s.apiextensions.CustomResource(
        f"{name}-database",
        api_version="postgresql.cnpg.io/v1",
        kind="Database",
        metadata=metadata(instance, namespace, name, instance),
        spec={
            "name": role,
            "owner": role,
            "cluster": cluster,
            "ensure": "present",
            "databaseReclaimPolicy": "retain",
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*on_cluster, database_role]),
    )
    host = f"{postgres.host}.{namespace}.svc"
    url = pulumi.Output.secret(
        password.result.apply(
            lambda pw: (
                f"postgresql://{role}:{quote(pw, safe='')}@{host}:{PORT}/{role}"
                f"?sslmode=verify-full&sslrootcert={POSTGRES_CA_DIR}/ca.crt"
            )
        )
    )
    return Database(url=url, resources=(credentials, database_role, database_object))
