"""The one public route: everything for the domain goes to the gateway's Service. The gateway
routes `/<server>/mcp` and serves every server's RFC 9728 metadata itself; no server Service is
named by any route.

Gateway entry: one HTTPRoute on the Gateway's HTTPS listener. The gateway's private paths (its
JWKS, /metrics) get rules with no backend, which the Gateway API answers with a 500 (core
conformance: HTTPRouteNoBackendRefs); an exact path match outranks the `/` prefix. Ingress
entry: one Ingress whose only annotations are ingress-nginx's stream timeouts (other controllers
ignore them); the Ingress API cannot refuse a path, so there the gateway itself refuses /metrics
to forwarded requests (the JWKS is public keys).

An edge rate limit is implementation-specific in the Gateway API (no portable policy); none is
added here. See the README for Envoy Gateway's BackendTrafficPolicy attached to this route.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.k8s.platform.entry import HTTPS_LISTENER, Entry
from mcp_deploy.k8s.platform.gateway import JWKS_PATH, GatewayAddress

# Streamable HTTP keeps a GET open for server-sent events; gateways' default request timeouts
# (15 s in Envoy) would cut it.
STREAM_TIMEOUT_SECONDS = 3600
STREAM_TIMEOUT = f"{STREAM_TIMEOUT_SECONDS}s"
# ingress-nginx closes a proxied connection after 60 s without a read or a write, which cuts an
# idle stream the gateway keeps open (up to 900 s of silence): the same limit as the HTTPRoute.
# No proxy-buffering annotation: the gateway sends `X-Accel-Buffering: no`, which nginx obeys.
NGINX_STREAM_ANNOTATIONS = {
    "nginx.ingress.kubernetes.io/proxy-read-timeout": str(STREAM_TIMEOUT_SECONDS),
    "nginx.ingress.kubernetes.io/proxy-send-timeout": str(STREAM_TIMEOUT_SECONDS),
}
PRIVATE_PATHS = (JWKS_PATH, "/metrics")


def public_route(
    name: str,
    domain: str,
    ingress_class: str | None,
    entry: Entry,
    address: GatewayAddress,
    instance: str,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, address.service, *entry.resources])
    if entry.gateway_name is not None:
        return _http_route(name, domain, entry.gateway_name, address, instance, opts)
    return _ingress(name, domain, ingress_class, entry.tls_secret, address, instance, opts)


def _http_route(
    name: str,
    domain: str,
    gateway_name: str,
    address: GatewayAddress,
    instance: str,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    private = [{"matches": [{"path": {"type": "Exact", "value": path}}]} for path in PRIVATE_PATHS]
    return k8s.apiextensions.CustomResource(
        f"{name}-route",
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata=metadata(instance, address.namespace, "gateway", instance),
        spec={
            "parentRefs": [{"name": gateway_name, "sectionName": HTTPS_LISTENER}],
            "hostnames": [domain],
            "rules": [
                *private,
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": address.service.metadata.name, "port": address.port}],
                    "timeouts": {"request": STREAM_TIMEOUT},
                },
            ],
        },
        opts=opts,
    )


def _ingress(
    name: str,
    domain: str,
    ingress_class: str | None,
    tls_secret: str,
    address: GatewayAddress,
    instance: str,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.Ingress:
    backend = _backend(address)
    everything = k8s.networking.v1.HTTPIngressPathArgs(path="/", path_type="Prefix", backend=backend)
    return k8s.networking.v1.Ingress(
        f"{name}-ingress",
        metadata=metadata(
            instance, address.namespace, "gateway", instance, annotations=dict(NGINX_STREAM_ANNOTATIONS)
        ),
        spec=k8s.networking.v1.IngressSpecArgs(
            ingress_class_name=ingress_class,
            tls=[k8s.networking.v1.IngressTLSArgs(hosts=[domain], secret_name=tls_secret)],
            rules=[
                k8s.networking.v1.IngressRuleArgs(
                    host=domain, http=k8s.networking.v1.HTTPIngressRuleValueArgs(paths=[everything])
                )
            ],
        ),
        opts=opts,
    )


def _backend(address: GatewayAddress) -> k8s.networking.v1.IngressBackendArgs:
    return k8s.networking.v1.IngressBackendArgs(
        service=k8s.networking.v1.IngressServiceBackendArgs(
            name=address.service.metadata.name, port=k8s.networking.v1.ServiceBackendPortArgs(name="http")
        )
    )
