"""The server's NetworkPolicy: in only from the platform gateway's pods (and Prometheus, when it
scrapes this server) on the server's own port, or on its metrics port when that is another; out
to DNS, the data tier it uses, the gateway's JWKS when it verifies the gateway's tokens, the
OTLP collector when tracing, and public HTTPS (the APIs a server calls). The
entry's pods cannot reach a server: only the gateway admits them (platform/gateway_policy.py)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s import netpol
from mcp_deploy.k8s.meta import metadata, selector
from mcp_deploy.k8s.platform.gateway import GatewayAddress
from mcp_deploy.k8s.platform.policies import postgres_egress, redis_egress
from mcp_deploy.k8s.platform.postgres import Postgres
from mcp_deploy.k8s.platform.redis import Redis
from mcp_deploy.server_spec import ServerSpec


def server_policy(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    gateway: GatewayAddress,
    fetches_jwks: bool,
    scrapers: str | None,
    postgres: Postgres | None,
    redis: Redis | None,
    tracing: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs],
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.networking.v1.NetworkPolicy:
    sources = [netpol.pods(gateway.pod_labels)]
    prometheus = netpol.namespace(scrapers) if scrapers is not None else None
    metrics_port = spec.metrics.port if spec.metrics is not None else spec.port
    if prometheus is not None and metrics_port == spec.port:
        sources.append(prometheus)
    ingress = [netpol.Ingress(from_=sources, ports=netpol.tcp(spec.port))]
    if prometheus is not None and metrics_port != spec.port:
        # A metrics port of its own: Prometheus there only, the gateway on the MCP port only.
        ingress.append(netpol.Ingress(from_=[prometheus], ports=netpol.tcp(metrics_port)))
    egress = [netpol.dns()]
    if fetches_jwks:
        egress.append(netpol.Egress(to=[netpol.pods(gateway.pod_labels)], ports=netpol.tcp(gateway.port)))
    if spec.postgres is not None and postgres is not None:
        egress.append(postgres_egress(postgres))
    if spec.redis is not None and redis is not None:
        egress.append(redis_egress(redis))
    egress += tracing
    egress.append(netpol.public_https())
    return k8s.networking.v1.NetworkPolicy(
        f"{spec.name}-server",
        metadata=metadata(instance, namespace, spec.name, instance),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance)),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
