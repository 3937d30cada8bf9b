"""The platform's NetworkPolicies: deny everything in the namespace, then allow what the shared
parts need. Servers add their own (server/policy.py).

In-cluster Postgres and Redis admit only pods labelled as their clients (meta.POSTGRES_CLIENT /
REDIS_CLIENT, valued with this platform's instance): the servers that asked for them and the
backup job. cert-manager's HTTP-01 solver pods are admitted from the entry's namespace.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s import netpol
from mcp_deploy.k8s.meta import POSTGRES_CLIENT, metadata, selector
from mcp_deploy.k8s.platform.backups import Backups
from mcp_deploy.k8s.platform.postgres import CNPG_NAMESPACE, METRICS_PORT, Postgres
from mcp_deploy.k8s.platform.postgres import PORT as POSTGRES_PORT
from mcp_deploy.k8s.platform.redis import PORT as REDIS_PORT
from mcp_deploy.k8s.platform.redis import Redis
from mcp_deploy.names import physical_name

ACME_SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT = 8089


def postgres_egress(postgres: Postgres) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """To the in-cluster instances, or by port to a managed one (its address is known only at run time)."""
    if postgres.cluster_name is None:
        return netpol.Egress(ports=netpol.tcp(POSTGRES_PORT))
    return netpol.Egress(to=[netpol.pods(postgres.pod_labels)], ports=netpol.tcp(POSTGRES_PORT))


def redis_egress(redis: Redis) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """To the in-cluster Redis, or by port to a managed one (6378/6380 where it serves TLS)."""
    if not redis.in_cluster:
        return netpol.Egress(ports=netpol.tcp(REDIS_PORT, 6378, 6380))
    return netpol.Egress(to=[netpol.pods(selector(redis.name))], ports=netpol.tcp(REDIS_PORT))


def platform_policies(
    name: str,
    namespace: str,
    instance: str,
    entry_peers: list[k8s.networking.v1.NetworkPolicyPeerArgs],
    acme: bool,
    postgres: Postgres | None,
    redis: Redis | None,
    backups: Backups | None,
    backup_secret: str | None,
    scrapers: str | None,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> list[k8s.networking.v1.NetworkPolicy]:
    def policy(
        label: str,
        pod_labels: dict[str, str] | None,
        ingress: list[k8s.networking.v1.NetworkPolicyIngressRuleArgs],
        egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs] | None,
    ) -> k8s.networking.v1.NetworkPolicy:
        return k8s.networking.v1.NetworkPolicy(
            f"{name}-{label}",
            metadata=metadata(physical_name(name, label), namespace, "platform", instance),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                # {} selects every pod in the namespace: the default-deny idiom.
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pod_labels),
                policy_types=["Ingress", "Egress"] if egress is not None else ["Ingress"],
                ingress=ingress,
                egress=egress,
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
        )

    policies = [policy("default-deny", None, [], [])]
    if acme:
        # cert-manager answers HTTP-01 challenges from a solver pod in this namespace; the
        # default deny would otherwise fail every issuance and renewal.
        policies.append(
            policy(
                "acme-solver",
                ACME_SOLVER_LABELS,
                [netpol.Ingress(from_=entry_peers, ports=netpol.tcp(ACME_SOLVER_PORT))],
                None,
            )
        )
    clients = netpol.pods({POSTGRES_CLIENT: instance})
    if postgres is not None and postgres.cluster_name is not None:
        # CloudNativePG: clients, the operator (status on 8000), the instances with each other, and
        # Prometheus on the exporter's port when it scrapes them (monitoring.postgres_monitor).
        ingress = [
            netpol.Ingress(from_=[clients], ports=netpol.tcp(POSTGRES_PORT)),
            netpol.Ingress(from_=[netpol.namespace(CNPG_NAMESPACE)], ports=netpol.tcp(8000)),
            netpol.Ingress(from_=[netpol.pods(postgres.pod_labels)]),
        ]
        if scrapers is not None:
            ingress.append(netpol.Ingress(from_=[netpol.namespace(scrapers)], ports=netpol.tcp(METRICS_PORT)))
        policies.append(
            policy(
                "postgres",
                postgres.pod_labels,
                ingress,
                [
                    netpol.dns(),
                    netpol.Egress(to=[netpol.pods(postgres.pod_labels)]),
                    netpol.Egress(ports=netpol.tcp(443, 6443)),  # the API server
                ],
            )
        )
    if redis is not None and redis.in_cluster:
        policies.append(
            policy(
                "redis",
                selector(redis.name),
                [netpol.Ingress(from_=[netpol.pods(redis.client_label)], ports=netpol.tcp(REDIS_PORT))],
                [netpol.dns()],
            )
        )
    if backups is not None and postgres is not None:
        # Only the backup job calls a cloud API; with no Secret it authenticates by its identity.
        credentials = netpol.credential_endpoints() if backup_secret is None else []
        policies.append(
            policy(
                "backup",
                selector(backups.instance),
                [],
                [netpol.dns(), postgres_egress(postgres), netpol.public_https(), *credentials],
            )
        )
    return policies
