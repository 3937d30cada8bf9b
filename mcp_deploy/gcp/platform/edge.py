"""The global external HTTPS load balancer: one address, a Google-managed certificate for the
domain, TLS 1.2+ (MODERN), HTTP -> HTTPS redirect, and the Cloud Armor policy every server's
backend carries. The HTTPS URL map is made last (`https_front`), once every server has added its
routes: the provider has no resource for a single path matcher or rule, so one URL map resource
must hold them all."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import compute_name
from mcp_deploy.platform_spec import GcpSpec

UrlRewrite = gcp.compute.URLMapPathMatcherPathRuleRouteActionUrlRewriteArgs


@dataclass(frozen=True)
class Route:
    """What one server publishes: https://<domain>/<name><path> and its RFC 9728 metadata."""

    prefix: str  # /<name>
    path: str  # the server's own MCP path, e.g. /mcp
    metadata_path: str
    backend: gcp.compute.BackendService


@dataclass(frozen=True)
class Edge:
    address: gcp.compute.GlobalAddress
    certificate: gcp.compute.ManagedSslCertificate
    tls_policy: gcp.compute.SSLPolicy
    armor: gcp.compute.SecurityPolicy


def edge(
    name: str, domain: str, google: GcpSpec, apis: list[gcp.projects.Service], parent: pulumi.Resource
) -> Edge:
    child = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    per_minute = google.armor_requests_per_minute
    armor = gcp.compute.SecurityPolicy(
        f"{name}-armor",
        project=google.project,
        name=compute_name(name, "armor"),
        type="CLOUD_ARMOR",
        description="mcp-deploy: throttle each client IP",
        rules=[
            gcp.compute.SecurityPolicyRuleArgs(
                priority=1000,
                action="throttle",
                description=f"more than {per_minute} requests a minute from one IP: 429",
                match=_any_source(),
                rate_limit_options=gcp.compute.SecurityPolicyRuleRateLimitOptionsArgs(
                    conform_action="allow",
                    exceed_action="deny(429)",
                    enforce_on_key="IP",
                    rate_limit_threshold=gcp.compute.SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs(
                        count=per_minute, interval_sec=60
                    ),
                ),
            ),
            gcp.compute.SecurityPolicyRuleArgs(
                priority=2147483647, action="allow", description="default", match=_any_source()
            ),
        ],
        opts=child,
    )
    certificate = gcp.compute.ManagedSslCertificate(
        f"{name}-tls",
        project=google.project,
        # The domain's hash in the name: a new domain is a new name, so the certificate is
        # replaced create-first while the proxy still holds the old one.
        name=compute_name(name, "tls", hashlib.sha256(domain.encode()).hexdigest()[:8]),
        managed=gcp.compute.ManagedSslCertificateManagedArgs(domains=[domain]),
        opts=child,
    )
    tls_policy = gcp.compute.SSLPolicy(
        f"{name}-tls",
        project=google.project,
        name=compute_name(name, "tls"),
        profile="MODERN",
        min_tls_version="TLS_1_2",
        opts=child,
    )
    address = gcp.compute.GlobalAddress(
        f"{name}-lb",
        project=google.project,
        name=compute_name(name, "lb"),
        address_type="EXTERNAL",
        opts=child,
    )
    _http_redirect(name, google, address, child)
    return Edge(address=address, certificate=certificate, tls_policy=tls_policy, armor=armor)


def https_front(
    name: str, domain: str, google: GcpSpec, front: Edge, routes: list[Route], parent: pulumi.Resource
) -> gcp.compute.URLMap:
    """The URL map with every server's routes, its HTTPS proxy and the :443 forwarding rule."""
    child = pulumi.ResourceOptions(parent=parent)
    # Any other path goes to the first server's MCP endpoint: nothing else is public.
    first = min(routes, key=lambda route: route.prefix)
    elsewhere = gcp.compute.URLMapPathMatcherDefaultUrlRedirectArgs(
        host_redirect=domain,
        path_redirect=first.prefix + first.path,
        https_redirect=True,
        strip_query=True,
        redirect_response_code="FOUND",
    )
    url_map = gcp.compute.URLMap(
        f"{name}-https",
        project=google.project,
        name=compute_name(name, "https"),
        default_url_redirect=gcp.compute.URLMapDefaultUrlRedirectArgs(
            host_redirect=domain,
            path_redirect=first.prefix + first.path,
            https_redirect=True,
            strip_query=True,
            redirect_response_code="FOUND",
        ),
        host_rules=[gcp.compute.URLMapHostRuleArgs(hosts=[domain], path_matcher="servers")],
        path_matchers=[
            gcp.compute.URLMapPathMatcherArgs(
                name="servers",
                default_url_redirect=elsewhere,
                path_rules=[
                    rule for route in sorted(routes, key=lambda r: r.prefix) for rule in _rules(route)
                ],
            )
        ],
        opts=child,
    )
    https_proxy = gcp.compute.TargetHttpsProxy(
        f"{name}-https",
        project=google.project,
        name=compute_name(name, "https"),
        url_map=url_map.id,
        ssl_certificates=[front.certificate.id],
        ssl_policy=front.tls_policy.id,
        opts=child,
    )
    gcp.compute.GlobalForwardingRule(
        f"{name}-https",
        project=google.project,
        name=compute_name(name, "https"),
        target=https_proxy.id,
        ip_address=front.address.id,
        port_range="443",
        load_balancing_scheme="EXTERNAL_MANAGED",
        opts=child,
    )
    return url_map


def _rules(route: Route) -> list[gcp.compute.URLMapPathMatcherPathRuleArgs]:
    """/<name><path> and everything under it, with /<name> cut so the server sees its own path;
    the metadata path unchanged. A path rule's rewrite replaces what the rule matched: for
    `/<name>/mcp/*` that is `/<name>/mcp/`, hence the trailing slash on its rewrite."""
    public = route.prefix + route.path

    def rewrite(to: str) -> gcp.compute.URLMapPathMatcherPathRuleRouteActionArgs:
        return gcp.compute.URLMapPathMatcherPathRuleRouteActionArgs(
            url_rewrite=UrlRewrite(path_prefix_rewrite=to)
        )

    return [
        gcp.compute.URLMapPathMatcherPathRuleArgs(
            paths=[public], service=route.backend.id, route_action=rewrite(route.path)
        ),
        gcp.compute.URLMapPathMatcherPathRuleArgs(
            paths=[f"{public}/*"], service=route.backend.id, route_action=rewrite(f"{route.path}/")
        ),
        gcp.compute.URLMapPathMatcherPathRuleArgs(paths=[route.metadata_path], service=route.backend.id),
    ]


def _http_redirect(
    name: str, google: GcpSpec, address: gcp.compute.GlobalAddress, child: pulumi.ResourceOptions
) -> None:
    redirect = gcp.compute.URLMap(
        f"{name}-http",
        project=google.project,
        name=compute_name(name, "http"),
        default_url_redirect=gcp.compute.URLMapDefaultUrlRedirectArgs(
            https_redirect=True, strip_query=False, redirect_response_code="MOVED_PERMANENTLY_DEFAULT"
        ),
        opts=child,
    )
    http_proxy = gcp.compute.TargetHttpProxy(
        f"{name}-http",
        project=google.project,
        name=compute_name(name, "http"),
        url_map=redirect.id,
        opts=child,
    )
    gcp.compute.GlobalForwardingRule(
        f"{name}-http",
        project=google.project,
        name=compute_name(name, "http"),
        target=http_proxy.id,
        ip_address=address.id,
        port_range="80",
        load_balancing_scheme="EXTERNAL_MANAGED",
        opts=child,
    )


def _any_source() -> gcp.compute.SecurityPolicyRuleMatchArgs:
    return gcp.compute.SecurityPolicyRuleMatchArgs(
        versioned_expr="SRC_IPS_V1",
        config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]),
    )
