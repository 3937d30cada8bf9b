"""The gateway's NetworkPolicy. In: the entry's pods (the only public traffic), the servers that
verify its tokens (its JWKS), and Prometheus when the operator scrapes it, all on the gateway's
port. Out: DNS, each server's pods on the server's own port, Redis, the OTLP collector when
tracing, and public HTTPS (the OAuth issuer's JWKS). The servers' own policies admit only the
gateway (server/policy.py)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s import netpol
from mcp_deploy.k8s.meta import metadata, selector
from mcp_deploy.k8s.platform.policies import redis_egress
from mcp_deploy.k8s.platform.redis import Redis
from mcp_deploy.k8s.platform.upstreams import Upstream


def gateway_policy(
    name: str,
    namespace: str,
    instance: str,
    port: int,
    entry_peers: list[k8s.networking.v1.NetworkPolicyPeerArgs],
    upstreams: list[Upstream],
    redis: Redis | None,
    scrapers: str | None,
    tracing: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs],
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.networking.v1.NetworkPolicy:
    sources = list(entry_peers)
    sources += [netpol.pods(selector(u.instance)) for u in upstreams if u.fetches_jwks]
    if scrapers is not None:
        sources.append(netpol.namespace(scrapers))
    egress = [netpol.dns()]
    egress += [
        netpol.Egress(to=[netpol.pods(selector(u.instance))], ports=netpol.tcp(u.port))
        for u in sorted(upstreams, key=lambda u: u.name)
    ]
    if redis is not None:
        egress.append(redis_egress(redis))
    egress += tracing
    egress.append(netpol.public_https())
    return k8s.networking.v1.NetworkPolicy(
        f"{name}-gateway",
        metadata=metadata(instance, namespace, "gateway", instance),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance)),
            policy_types=["Ingress", "Egress"],
            ingress=[netpol.Ingress(from_=sources, ports=netpol.tcp(port))],
            egress=egress,
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
