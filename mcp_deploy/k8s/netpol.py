"""NetworkPolicy building blocks: peers and the egress rules several policies share."""

from __future__ import annotations

from urllib.parse import urlsplit

import pulumi_kubernetes as k8s

from mcp_deploy.tracing import tracing_env

PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]
Peer = k8s.networking.v1.NetworkPolicyPeerArgs
Port = k8s.networking.v1.NetworkPolicyPortArgs
Egress = k8s.networking.v1.NetworkPolicyEgressRuleArgs
Ingress = k8s.networking.v1.NetworkPolicyIngressRuleArgs


def tcp(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [Port(protocol="TCP", port=port) for port in ports]


def pods(labels: dict[str, str]) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return Peer(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels))


def namespace(name: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return Peer(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": name})
    )


def dns() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    return Egress(
        to=[namespace("kube-system")],
        ports=[Port(protocol="UDP", port=53), Port(protocol="TCP", port=53)],
    )


def public_https() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """TCP 443 to public addresses only (an OAuth issuer's JWKS, a bucket), never private ranges."""
    return Egress(
        to=[Peer(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0", except_=PRIVATE_RANGES))],
        ports=tcp(443),
    )


def credential_endpoints() -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """Where a pod without a credentials Secret gets cloud credentials: the instance metadata
    service (EC2, GCE; GKE's workload-identity server answers there too, or on 988 under
    Dataplane V2) and the EKS Pod Identity agent. All sit in 169.254/16, which public_https
    excludes."""

    def to(cidr: str, port: int) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
        return Egress(to=[Peer(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))], ports=tcp(port))

    return [to("169.254.169.254/32", 80), to("169.254.169.252/32", 988), to("169.254.170.23/32", 80)]


def otlp(endpoint: str | None, ratio: float) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """To the OTLP endpoint's port, only when the pods trace (when they get OTEL_* env). A
    collector usually runs in the cluster in a namespace of its own: pods of any namespace on that
    port (a policy sees the pod behind a Service). One outside on 443 is public_https's already."""
    if endpoint is None or not tracing_env(endpoint, ratio, "any"):
        return []
    url = urlsplit(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    any_namespace = Peer(namespace_selector=k8s.meta.v1.LabelSelectorArgs())
    return [Egress(to=[any_namespace], ports=tcp(port))]
