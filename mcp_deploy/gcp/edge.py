"""A global external HTTPS load balancer in front of Cloud Run: serverless NEG, Google-managed
certificate, TLS 1.2+ (MODERN), HTTP -> HTTPS redirect, and Cloud Armor throttling per client IP.

Only /mcp and the RFC 9728 metadata reach the service; any other path is redirected to /mcp,
so /metrics and /ready stay private."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import GcpArgs
from mcp_deploy.gcp.run import CloudRun

PUBLIC_PATHS = [
    "/mcp",
    "/mcp/*",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/*",
]


@dataclass(frozen=True)
class Edge:
    address: gcp.compute.GlobalAddress


def edge(
    name: str,
    domain: str,
    args: GcpArgs,
    run: CloudRun,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> Edge:
    child = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    neg = gcp.compute.RegionNetworkEndpointGroup(
        f"{name}-run",
        project=args.project,
        region=args.region,
        network_endpoint_type="SERVERLESS",
        cloud_run=gcp.compute.RegionNetworkEndpointGroupCloudRunArgs(service=run.service.name),
        opts=child,
    )
    armor = gcp.compute.SecurityPolicy(
        f"{name}-armor",
        project=args.project,
        type="CLOUD_ARMOR",
        description="mcp-deploy: throttle each client IP",
        rules=[
            gcp.compute.SecurityPolicyRuleArgs(
                priority=1000,
                action="throttle",
                description=f"more than {args.armor_requests_per_minute} requests a minute from one IP: 429",
                match=_any_source(),
                rate_limit_options=gcp.compute.SecurityPolicyRuleRateLimitOptionsArgs(
                    conform_action="allow",
                    exceed_action="deny(429)",
                    enforce_on_key="IP",
                    rate_limit_threshold=gcp.compute.SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs(
                        count=args.armor_requests_per_minute, interval_sec=60
                    ),
                ),
            ),
            gcp.compute.SecurityPolicyRuleArgs(
                priority=2147483647, action="allow", description="default", match=_any_source()
            ),
        ],
        opts=child,
    )
    backend = gcp.compute.BackendService(
        f"{name}-run",
        project=args.project,
        load_balancing_scheme="EXTERNAL_MANAGED",
        protocol="HTTPS",
        backends=[gcp.compute.BackendServiceBackendArgs(group=neg.id)],
        security_policy=armor.id,
        log_config=gcp.compute.BackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
        opts=child,
    )
    to_mcp = gcp.compute.URLMapDefaultUrlRedirectArgs(
        host_redirect=domain,
        path_redirect="/mcp",
        https_redirect=True,
        strip_query=True,
        redirect_response_code="FOUND",
    )
    url_map = gcp.compute.URLMap(
        f"{name}-https",
        project=args.project,
        default_url_redirect=to_mcp,
        host_rules=[gcp.compute.URLMapHostRuleArgs(hosts=[domain], path_matcher="mcp")],
        path_matchers=[
            gcp.compute.URLMapPathMatcherArgs(
                name="mcp",
                default_url_redirect=gcp.compute.URLMapPathMatcherDefaultUrlRedirectArgs(
                    host_redirect=domain,
                    path_redirect="/mcp",
                    https_redirect=True,
                    strip_query=True,
                    redirect_response_code="FOUND",
                ),
                path_rules=[
                    gcp.compute.URLMapPathMatcherPathRuleArgs(paths=PUBLIC_PATHS, service=backend.id)
                ],
            )
        ],
        opts=child,
    )
    certificate = gcp.compute.ManagedSslCertificate(
        f"{name}-tls",
        project=args.project,
        managed=gcp.compute.ManagedSslCertificateManagedArgs(domains=[domain]),
        # replaced create-first (the name is generated): the proxy keeps the old one meanwhile
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    tls_policy = gcp.compute.SSLPolicy(
        f"{name}-tls", project=args.project, profile="MODERN", min_tls_version="TLS_1_2", opts=child
    )
    https_proxy = gcp.compute.TargetHttpsProxy(
        f"{name}-https",
        project=args.project,
        url_map=url_map.id,
        ssl_certificates=[certificate.id],
        ssl_policy=tls_policy.id,
        opts=child,
    )
    address = gcp.compute.GlobalAddress(
        f"{name}-lb", project=args.project, address_type="EXTERNAL", opts=child
    )
    gcp.compute.GlobalForwardingRule(
        f"{name}-https",
        project=args.project,
        target=https_proxy.id,
        ip_address=address.id,
        port_range="443",
        load_balancing_scheme="EXTERNAL_MANAGED",
        opts=child,
    )
    redirect = gcp.compute.URLMap(
        f"{name}-http",
        project=args.project,
        default_url_redirect=gcp.compute.URLMapDefaultUrlRedirectArgs(
            https_redirect=True, strip_query=False, redirect_response_code="MOVED_PERMANENTLY_DEFAULT"
        ),
        opts=child,
    )
    http_proxy = gcp.compute.TargetHttpProxy(
        f"{name}-http", project=args.project, url_map=redirect.id, opts=child
    )
    gcp.compute.GlobalForwardingRule(
        f"{name}-http",
        project=args.project,
        target=http_proxy.id,
        ip_address=address.id,
        port_range="80",
        load_balancing_scheme="EXTERNAL_MANAGED",
        opts=child,
    )
    return Edge(address=address)


def _any_source() -> gcp.compute.SecurityPolicyRuleMatchArgs:
    return gcp.compute.SecurityPolicyRuleMatchArgs(
        versioned_expr="SRC_IPS_V1",
        config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]),
    )
