"""The server's public routes: `https://<domain>/<name><path>` (and below it) with the prefix
rewritten to the server's own `path`, and its RFC 9728 metadata path unchanged. Nothing else of
the server is public.

Gateway entry: an HTTPRoute on the platform Gateway's HTTPS listener, the rewrite a standard
URLRewrite filter. Ingress entry: a plain Ingress with no controller-specific annotations; the
Ingress API has no rewrite, so the server then sees `/<name><path>` unless the controller is
told to rewrite with its own annotation or middleware (see README).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.k8s.platform.entry import HTTPS_LISTENER, Entry
from mcp_deploy.server_spec import ServerSpec

# Streamable HTTP keeps a GET open for server-sent events; gateways' default request timeouts
# (15 s in Envoy) would cut it.
STREAM_TIMEOUT = "3600s"


def public_prefix(spec: ServerSpec) -> str:
    return f"{spec.route_prefix}{spec.path}"


def routes(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    domain: str,
    ingress_class: str | None,
    entry: Entry,
    service: k8s.core.v1.Service,
    parent: pulumi.Resource,
) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(parent=parent, depends_on=[service, *entry.resources])
    if entry.gateway_name is not None:
        return _http_route(spec, instance, namespace, domain, entry.gateway_name, service, opts)
    return _ingress(spec, instance, namespace, domain, ingress_class, entry.tls_secret, service, opts)


def _http_route(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    domain: str,
    gateway_name: str,
    service: k8s.core.v1.Service,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    backend = [{"name": service.metadata.name, "port": spec.port}]
    return k8s.apiextensions.CustomResource(
        f"{spec.name}-route",
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata=metadata(instance, namespace, spec.name, instance),
        spec={
            "parentRefs": [{"name": gateway_name, "sectionName": HTTPS_LISTENER}],
            "hostnames": [domain],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": public_prefix(spec)}}],
                    "filters": [
                        {
                            "type": "URLRewrite",
                            "urlRewrite": {
                                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": spec.path}
                            },
                        }
                    ],
                    "backendRefs": backend,
                    "timeouts": {"request": STREAM_TIMEOUT},
                },
                {
                    "matches": [{"path": {"type": "Exact", "value": spec.metadata_path}}],
                    "backendRefs": backend,
                },
            ],
        },
        opts=opts,
    )


def _ingress(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    domain: str,
    ingress_class: str | None,
    tls_secret: str,
    service: k8s.core.v1.Service,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.Ingress:
    backend = k8s.networking.v1.IngressBackendArgs(
        service=k8s.networking.v1.IngressServiceBackendArgs(
            name=service.metadata.name, port=k8s.networking.v1.ServiceBackendPortArgs(name="http")
        )
    )
    return k8s.networking.v1.Ingress(
        f"{spec.name}-ingress",
        metadata=metadata(instance, namespace, spec.name, instance),
        spec=k8s.networking.v1.IngressSpecArgs(
            ingress_class_name=ingress_class,
            tls=[k8s.networking.v1.IngressTLSArgs(hosts=[domain], secret_name=tls_secret)],
            rules=[
                k8s.networking.v1.IngressRuleArgs(
                    host=domain,
                    http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                        paths=[
                            k8s.networking.v1.HTTPIngressPathArgs(
                                path=public_prefix(spec), path_type="Prefix", backend=backend
                            ),
                            k8s.networking.v1.HTTPIngressPathArgs(
                                path=spec.metadata_path, path_type="Exact", backend=backend
                            ),
                        ]
                    ),
                )
            ],
        ),
        opts=opts,
    )
