"""NetworkPolicies: deny everything in the namespace, then allow exactly what each part needs.

The server: in from the ingress controller's namespace (and the monitoring namespace, to scrape
/metrics, when the Prometheus operator is on); out to DNS, Redis, Postgres, and HTTPS for the
OAuth issuer's JWKS. The issuer's addresses are not known in advance, so that last rule allows
TCP 443 to public addresses only, never to private ranges.
The backup job: out to DNS, Postgres, public HTTPS for the bucket, and (authenticating by
workload identity) the credential endpoints. cert-manager's HTTP-01 solver: in from the ingress
controller. In-cluster Redis and Postgres: in from their clients only."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.args import SERVER_PORT, K8sArgs
from mcp_deploy.k8s.app import SERVER
from mcp_deploy.k8s.backups import BACKUP
from mcp_deploy.k8s.data import POSTGRES, POSTGRES_POD_LABELS, REDIS, REDIS_PORT, DataTier
from mcp_deploy.k8s.meta import metadata, selector

PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]
MONITORING_NAMESPACE = "monitoring"
ACME_SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT = 8089
Peer = k8s.networking.v1.NetworkPolicyPeerArgs
Port = k8s.networking.v1.NetworkPolicyPortArgs


def _selector(component: str) -> dict[str, str]:
    return POSTGRES_POD_LABELS if component == POSTGRES else selector(component)


def _pods(component: str) -> Peer:
    return Peer(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=_selector(component)))


def _namespace(name: str) -> Peer:
    return Peer(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": name})
    )


def _dns() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[_namespace("kube-system")],
        ports=[Port(protocol="UDP", port=53), Port(protocol="TCP", port=53)],
    )


def _public_https() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[Peer(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0", except_=PRIVATE_RANGES))],
        ports=[Port(protocol="TCP", port=443)],
    )


def _credential_endpoints() -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """Where a pod without a credentials Secret gets cloud credentials: the instance metadata
    service (EC2, GCE; GKE's workload-identity server answers there too, or on 988 under
    Dataplane V2) and the EKS Pod Identity agent. All sit in 169.254/16, which the public-HTTPS
    rule excludes."""

    def to(cidr: str, port: int) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
        return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[Peer(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))],
            ports=[Port(protocol="TCP", port=port)],
        )

    return [to("169.254.169.254/32", 80), to("169.254.169.252/32", 988), to("169.254.170.23/32", 80)]


def network_policies(
    name: str, args: K8sArgs, data: DataTier, namespace: k8s.core.v1.Namespace, parent: pulumi.Resource
) -> list[k8s.networking.v1.NetworkPolicy]:
    ns = args.namespace
    inside = pulumi.ResourceOptions(parent=parent, depends_on=[namespace])
    egress_rule = k8s.networking.v1.NetworkPolicyEgressRuleArgs
    ingress_rule = k8s.networking.v1.NetworkPolicyIngressRuleArgs

    def policy(
        label: str,
        component: str | None,
        ingress: list[k8s.networking.v1.NetworkPolicyIngressRuleArgs],
        egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs],
    ) -> k8s.networking.v1.NetworkPolicy:
        return k8s.networking.v1.NetworkPolicy(
            f"{name}-{label}",
            metadata=metadata(f"mcp-{label}", ns, component or "mcp-deploy"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                # {} selects every pod in the namespace: the default-deny idiom.
                pod_selector=(
                    k8s.meta.v1.LabelSelectorArgs(match_labels=_selector(component))
                    if component
                    else k8s.meta.v1.LabelSelectorArgs()
                ),
                policy_types=["Ingress", "Egress"],
                ingress=ingress,
                egress=egress,
            ),
            opts=inside,
        )

    scrapers = [_namespace(MONITORING_NAMESPACE)] if args.prometheus_operator else []
    # In-cluster data: its pods only. A managed service is reached by port, its address being
    # known only at run time (Redis: 6379, or 6378/6380 where the provider serves TLS there).
    redis_out = (
        egress_rule(to=[_pods(REDIS)], ports=[Port(protocol="TCP", port=REDIS_PORT)])
        if data.redis_in_cluster
        else egress_rule(ports=[Port(protocol="TCP", port=port) for port in (REDIS_PORT, 6378, 6380)])
    )
    postgres_out = (
        egress_rule(to=[_pods(POSTGRES)], ports=[Port(protocol="TCP", port=5432)])
        if data.postgres_in_cluster
        else egress_rule(ports=[Port(protocol="TCP", port=5432)])
    )
    # Only the backup job calls a cloud API; with no Secret it authenticates by its identity.
    credentials_out = _credential_endpoints() if args.backup_secret is None else []
    policies = [
        policy("default-deny", None, [], []),
        policy(
            "server",
            SERVER,
            [
                ingress_rule(
                    from_=[_namespace(args.ingress_namespace), *scrapers],
                    ports=[Port(protocol="TCP", port=SERVER_PORT)],
                )
            ],
            [_dns(), redis_out, postgres_out, _public_https()],
        ),
        policy("backup", BACKUP, [], [_dns(), postgres_out, _public_https(), *credentials_out]),
    ]
    if args.tls_secret is None:
        # cert-manager answers HTTP-01 challenges from a solver pod in this namespace; the
        # default deny would otherwise fail every issuance and renewal.
        policies.append(
            k8s.networking.v1.NetworkPolicy(
                f"{name}-acme-solver",
                metadata=metadata("mcp-acme-solver", ns, "mcp-deploy"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=ACME_SOLVER_LABELS),
                    policy_types=["Ingress"],
                    ingress=[
                        ingress_rule(
                            from_=[_namespace(args.ingress_namespace)],
                            ports=[Port(protocol="TCP", port=ACME_SOLVER_PORT)],
                        )
                    ],
                ),
                opts=inside,
            )
        )
    if data.redis_in_cluster:
        policies.append(
            policy(
                "redis",
                REDIS,
                [ingress_rule(from_=[_pods(SERVER)], ports=[Port(protocol="TCP", port=REDIS_PORT)])],
                [_dns()],
            )
        )
    if data.postgres_in_cluster:
        policies.append(
            # CloudNativePG: clients, the operator (status on 8000), and the instances with each other.
            policy(
                "postgres",
                POSTGRES,
                [
                    ingress_rule(
                        from_=[_pods(SERVER), _pods(BACKUP)], ports=[Port(protocol="TCP", port=5432)]
                    ),
                    ingress_rule(from_=[_namespace("cnpg-system")], ports=[Port(protocol="TCP", port=8000)]),
                    ingress_rule(from_=[_pods(POSTGRES)]),
                ],
                [
                    _dns(),
                    egress_rule(to=[_pods(POSTGRES)]),
                    egress_rule(ports=[Port(protocol="TCP", port=443), Port(protocol="TCP", port=6443)]),
                ],
            )
        )
    return policies
