"""The global external HTTPS load balancer: one address, a Google-managed certificate for the
domain, TLS 1.2+ (MODERN), HTTP -> HTTPS redirect, and a Cloud Armor throttle per client IP.
Everything for the domain goes to one backend, the gateway's Cloud Run service (`https_front`,
made in finish() once the gateway exists); servers have no backend of their own."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import compute_name
from mcp_deploy.platform_spec import GcpSpec


@dataclass(frozen=True)
class Edge:
    address: gcp.compute.GlobalAddress
    certificate: gcp.compute.ManagedSslCertificate
    tls_policy: gcp.compute.SSLPolicy
    armor: gcp.compute.SecurityPolicy


def edge(
    name: str,
    domain: str,
    per_minute: int,
    google: GcpSpec,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> Edge:
    """`per_minute`: requests one client IP may send before Armor answers 429 itself, so floods
    never reach the gateway."""
    child = pulumi.ResourceOptions(parent=parent, depends_on=apis)
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


def gateway_backend(
    name: str,
    google: GcpSpec,
    service: gcp.cloudrunv2.Service,
    armor: gcp.compute.SecurityPolicy,
    parent: pulumi.Resource,
) -> gcp.compute.BackendService:
    """A serverless NEG for the gateway's Cloud Run service, and the backend carrying Armor."""
    child = pulumi.ResourceOptions(parent=parent)
    neg = gcp.compute.RegionNetworkEndpointGroup(
        f"{name}-gateway",
        project=google.project,
        name=compute_name(name, "gateway"),
        region=google.region,
        network_endpoint_type="SERVERLESS",
        cloud_run=gcp.compute.RegionNetworkEndpointGroupCloudRunArgs(service=service.name),
        opts=child,
    )
    return gcp.compute.BackendService(
        f"{name}-gateway",
        project=google.project,
        name=compute_name(name, "gateway"),
        load_balancing_scheme="EXTERNAL_MANAGED",
        protocol="HTTPS",
        backends=[gcp.compute.BackendServiceBackendArgs(group=neg.id)],
        security_policy=armor.id,
        log_config=gcp.compute.BackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
        opts=child,
    )


def https_front(
    name: str, google: GcpSpec, front: Edge, gateway: gcp.compute.BackendService, parent: pulumi.Resource
) -> gcp.compute.URLMap:
    """The URL map (every path to the gateway, which routes /<server>/mcp itself and answers
    anything else), its HTTPS proxy and the :443 forwarding rule."""
    child = pulumi.ResourceOptions(parent=parent)
    url_map = gcp.compute.URLMap(
        f"{name}-https",
        project=google.project,
        name=compute_name(name, "https"),
        default_service=gateway.id,
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
