"""The server's NetworkPolicy: in only from the entry's pods (and Prometheus, when it scrapes
this server) on the server's own port; out to DNS, the data tier it uses, and public HTTPS (an
OAuth issuer's JWKS, the APIs a server calls)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s import netpol
from mcp_deploy.k8s.meta import metadata, selector
from mcp_deploy.k8s.platform.policies import postgres_egress, redis_egress
from mcp_deploy.k8s.platform.postgres import Postgres
from mcp_deploy.k8s.platform.redis import Redis
from mcp_deploy.server_spec import ServerSpec


def server_policy(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    entry_peers: list[k8s.networking.v1.NetworkPolicyPeerArgs],
    scraped: bool,
    postgres: Postgres | None,
    redis: Redis | None,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.networking.v1.NetworkPolicy:
    sources = [*entry_peers, *([netpol.namespace(netpol.MONITORING_NAMESPACE)] if scraped else [])]
    egress = [netpol.dns()]
    if spec.postgres is not None and postgres is not None:
        egress.append(postgres_egress(postgres))
    if spec.redis is not None and redis is not None:
        egress.append(redis_egress(redis))
    egress.append(netpol.public_https())
    return k8s.networking.v1.NetworkPolicy(
        f"{spec.name}-server",
        metadata=metadata(instance, namespace, spec.name, instance),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance)),
            policy_types=["Ingress", "Egress"],
            ingress=[netpol.Ingress(from_=sources, ports=netpol.tcp(spec.port))],
            egress=egress,
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
