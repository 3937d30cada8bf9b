"""The public entry: TLS for the domain from cert-manager (or an existing Secret) and, by default,
a Gateway API `Gateway` that the route to our gateway service attaches to (public_route.py).

TLS comes from an explicit `Certificate`, not from the `cert-manager.io/cluster-issuer`
annotation on the Gateway: the annotation works only where cert-manager runs with its Gateway
API support switched on, a Certificate everywhere. With `entry: ingress` there is no shared
object but the certificate, which the one Ingress (public_route.py) serves.
The Let's Encrypt ClusterIssuer is cluster-wide, so it is created only when asked
(`acme_email`) and named per stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import K8sSpec

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
HTTPS_LISTENER = "https"
HTTP_LISTENER = "http"
# Set by Gateway API implementations on the pods that serve a Gateway (GEP-1762).
GATEWAY_POD_LABEL = "gateway.networking.k8s.io/gateway-name"


@dataclass(frozen=True)
class Entry:
    kind: str  # "gateway" or "ingress"
    tls_secret: str
    gateway_name: str | None
    # What a route must wait for: the Gateway, the certificate and its issuer.
    resources: tuple[pulumi.Resource, ...]


def entry(
    name: str,
    domain: str,
    spec: K8sSpec,
    namespace: str,
    instance: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> Entry:
    inside = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    gateway_name = physical_name(name) if spec.entry == "gateway" else None
    tls_secret = spec.tls_secret or physical_name(name, "tls")
    made: list[pulumi.Resource] = []
    if spec.tls_secret is None:
        issuer = spec.cluster_issuer
        if spec.acme_email is not None:
            issuer = physical_name(name, "letsencrypt")
            made.append(_cluster_issuer(name, issuer, spec, namespace, gateway_name, parent))
        made.append(
            k8s.apiextensions.CustomResource(
                f"{name}-certificate",
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata=metadata(physical_name(name), namespace, "entry", instance),
                spec={
                    "secretName": tls_secret,
                    "dnsNames": [domain],
                    "issuerRef": {"kind": "ClusterIssuer", "name": issuer, "group": "cert-manager.io"},
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                },
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, *made]),
            )
        )
    if gateway_name is not None:
        made.append(_gateway(name, gateway_name, domain, spec, namespace, instance, tls_secret, inside))
        if spec.tls_secret is None:
            made.append(_redirect(name, gateway_name, domain, namespace, instance, made[-1], parent))
    return Entry(kind=spec.entry, tls_secret=tls_secret, gateway_name=gateway_name, resources=tuple(made))


def _cluster_issuer(
    name: str,
    issuer: str,
    spec: K8sSpec,
    namespace: str,
    gateway_name: str | None,
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    # HTTP-01 through the Gateway needs cert-manager's Gateway API support (`enableGatewayAPI`).
    solver = (
        {
            "gatewayHTTPRoute": {
                "parentRefs": [
                    {
                        "name": gateway_name,
                        "namespace": namespace,
                        "kind": "Gateway",
                        "sectionName": HTTP_LISTENER,
                    }
                ]
            }
        }
        if gateway_name is not None
        else {"ingress": {"ingressClassName": spec.ingress_class}}
    )
    return k8s.apiextensions.CustomResource(
        f"{name}-issuer",
        api_version="cert-manager.io/v1",
        kind="ClusterIssuer",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=issuer),
        spec={
            "acme": {
                "server": LETS_ENCRYPT,
                "email": spec.acme_email,
                "privateKeySecretRef": {"name": f"{issuer}-account-key"},
                "solvers": [{"http01": solver}],
            }
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _gateway(
    name: str,
    gateway_name: str,
    domain: str,
    spec: K8sSpec,
    namespace: str,
    instance: str,
    tls_secret: str,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    same_namespace = {"namespaces": {"from": "Same"}}
    listeners: list[dict[str, object]] = [
        {
            "name": HTTPS_LISTENER,
            "protocol": "HTTPS",
            "port": 443,
            "hostname": domain,
            "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": tls_secret}]},
            "allowedRoutes": same_namespace,
        }
    ]
    if spec.tls_secret is None:
        # Plain HTTP only for cert-manager's HTTP-01 challenges; everything else is redirected.
        listeners.append(
            {
                "name": HTTP_LISTENER,
                "protocol": "HTTP",
                "port": 80,
                "hostname": domain,
                "allowedRoutes": same_namespace,
            }
        )
    return k8s.apiextensions.CustomResource(
        f"{name}-gateway",
        api_version="gateway.networking.k8s.io/v1",
        kind="Gateway",
        metadata=metadata(gateway_name, namespace, "entry", instance),
        spec={"gatewayClassName": spec.gateway_class, "listeners": listeners},
        opts=opts,
    )


def _redirect(
    name: str,
    gateway_name: str,
    domain: str,
    namespace: str,
    instance: str,
    gateway: pulumi.Resource,
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    """http:// -> https://. cert-manager's challenge route matches its exact path, which wins."""
    return k8s.apiextensions.CustomResource(
        f"{name}-https-redirect",
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata=metadata(physical_name(name, "https-redirect"), namespace, "entry", instance),
        spec={
            "parentRefs": [{"name": gateway_name, "sectionName": HTTP_LISTENER}],
            "hostnames": [domain],
            "rules": [
                {
                    "filters": [
                        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
                    ]
                }
            ],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[gateway]),
    )
