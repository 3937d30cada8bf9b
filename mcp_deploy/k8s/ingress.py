"""The Ingress: the configured class, no buffering and long timeouts for streamed responses, TLS
from an existing secret or from cert-manager (a Certificate, and the ClusterIssuer if asked).
Only /mcp and the RFC 9728 metadata are routed; /metrics and /ready stay inside."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.args import K8sArgs
from mcp_deploy.k8s.app import SERVER, Server
from mcp_deploy.k8s.meta import metadata

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
STREAMING = {  # ingress-nginx
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
    "nginx.ingress.kubernetes.io/ssl-redirect": "true",
}
PUBLIC_PATHS = ("/mcp", "/.well-known/oauth-protected-resource")


def ingress(
    name: str, domain: str, args: K8sArgs, app: Server, parent: pulumi.Resource
) -> k8s.networking.v1.Ingress:
    ns = args.namespace
    inside = pulumi.ResourceOptions(parent=parent, depends_on=[app.namespace])
    tls_secret = args.tls_secret or f"{SERVER}-tls"
    depends: list[pulumi.Resource] = []
    if args.tls_secret is None:
        if args.acme_email is not None:
            depends.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-issuer",
                    api_version="cert-manager.io/v1",
                    kind="ClusterIssuer",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=args.cluster_issuer),
                    spec={
                        "acme": {
                            "server": LETS_ENCRYPT,
                            "email": args.acme_email,
                            "privateKeySecretRef": {"name": f"{args.cluster_issuer}-account-key"},
                            "solvers": [{"http01": {"ingress": {"ingressClassName": args.ingress_class}}}],
                        }
                    },
                    opts=pulumi.ResourceOptions(parent=parent),
                )
            )
        depends.append(
            k8s.apiextensions.CustomResource(
                f"{name}-certificate",
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata=metadata(SERVER, ns, SERVER),
                spec={
                    "secretName": tls_secret,
                    "dnsNames": [domain],
                    "issuerRef": {"kind": "ClusterIssuer", "name": args.cluster_issuer},
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                },
                opts=inside,
            )
        )
    backend = k8s.networking.v1.IngressBackendArgs(
        service=k8s.networking.v1.IngressServiceBackendArgs(
            name=app.service.metadata.name, port=k8s.networking.v1.ServiceBackendPortArgs(name="http")
        )
    )
    return k8s.networking.v1.Ingress(
        f"{name}-server",
        metadata=metadata(SERVER, ns, SERVER, annotations=STREAMING),
        spec=k8s.networking.v1.IngressSpecArgs(
            ingress_class_name=args.ingress_class,
            tls=[k8s.networking.v1.IngressTLSArgs(hosts=[domain], secret_name=tls_secret)],
            rules=[
                k8s.networking.v1.IngressRuleArgs(
                    host=domain,
                    http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                        paths=[
                            k8s.networking.v1.HTTPIngressPathArgs(
                                path=path, path_type="Prefix", backend=backend
                            )
                            for path in PUBLIC_PATHS
                        ]
                    ),
                )
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[app.namespace, *depends]),
    )
