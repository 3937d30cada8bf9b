"""TLS and the load balancer: an ACM certificate validated in Route 53 (or an existing one), an
ALB that speaks only modern TLS and redirects HTTP, and a WAF rate limit per client address in
front of it. The HTTPS listener forwards everything to the gateway's tasks (aws/platform/gateway.py):
no server is reachable from the load balancer."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.platform.network import Network
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import AwsSpec, GatewaySpec, PlatformArgsError
from mcp_deploy.server_spec import DRAIN_SECONDS

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3, and 1.2 with forward secrecy only
IDLE_TIMEOUT_SECONDS = 900  # streamed responses and subscriptions/listen stay open this long
ALB_NAME_LIMIT = 32
TARGET_GROUP_NAME_LIMIT = 32
# WAF counts a rate-based rule's requests over this window; its limit is per window, 10 at least.
WAF_WINDOW_SECONDS = 300
WAF_MIN_LIMIT, WAF_MAX_LIMIT = 10, 2_000_000_000


@dataclass(frozen=True)
class Edge:
    load_balancer: aws.lb.LoadBalancer
    https: aws.lb.Listener
    gateway_targets: aws.lb.TargetGroup


def edge(
    name: str,
    domain: str,
    spec: AwsSpec,
    gateway: GatewaySpec,
    net: Network,
    group: aws.ec2.SecurityGroup,
    production: bool,
    parent: pulumi.Resource,
) -> Edge:
    child = pulumi.ResourceOptions(parent=parent)
    certificate_arn = _certificate(name, domain, spec, parent)
    alb = aws.lb.LoadBalancer(
        f"{name}-alb",
        name=physical_name(name, limit=ALB_NAME_LIMIT),
        load_balancer_type="application",
        internal=False,
        security_groups=[group.id],
        subnets=net.public_subnet_ids,
        idle_timeout=IDLE_TIMEOUT_SECONDS,
        drop_invalid_header_fields=True,
        enable_deletion_protection=production,
        opts=child,
    )
    targets = _gateway_targets(name, gateway, net, parent)
    https = aws.lb.Listener(
        f"{name}-https",
        load_balancer_arn=alb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy=TLS_POLICY,
        certificate_arn=certificate_arn,
        # Every path: the gateway answers 404 itself for what no route claims.
        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=targets.arn)],
        opts=child,
    )
    aws.lb.Listener(
        f"{name}-http",
        load_balancer_arn=alb.arn,
        port=80,
        protocol="HTTP",
        default_actions=[
            aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    protocol="HTTPS", port="443", status_code="HTTP_301"
                ),
            )
        ],
        opts=child,
    )
    if spec.hosted_zone_id is not None:
        aws.route53.Record(
            f"{name}-domain",
            zone_id=spec.hosted_zone_id,
            name=domain,
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True
                )
            ],
            opts=child,
        )
    _rate_limit(name, gateway, alb, parent)
    return Edge(load_balancer=alb, https=https, gateway_targets=targets)


def waf_limit(requests_per_minute: int) -> int:
    """The WAF limit (requests per evaluation window) for a per-minute rate, within WAF's range."""
    per_window = requests_per_minute * WAF_WINDOW_SECONDS // 60
    if not WAF_MIN_LIMIT <= per_window <= WAF_MAX_LIMIT:
        raise PlatformArgsError(
            f"platform: gateway.edge_requests_per_minute {requests_per_minute} gives a WAF limit of "
            f"{per_window} per {WAF_WINDOW_SECONDS} s; WAF allows {WAF_MIN_LIMIT}-{WAF_MAX_LIMIT}"
        )
    return per_window


def _gateway_targets(
    name: str, gateway: GatewaySpec, net: Network, parent: pulumi.Resource
) -> aws.lb.TargetGroup:
    # The port is part of the name: a replacement (created before the old group is deleted)
    # must not ask for the name the old one still holds.
    return aws.lb.TargetGroup(
        f"{name}-gateway",
        name=physical_name(name, "gateway", str(gateway.port), limit=TARGET_GROUP_NAME_LIMIT),
        port=gateway.port,
        protocol="HTTP",
        target_type="ip",
        vpc_id=net.vpc_id,
        deregistration_delay=DRAIN_SECONDS + 5,  # a little longer than the gateway drains
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            path="/ready",
            port="traffic-port",
            matcher="200",
            interval=15,
            timeout=5,
            healthy_threshold=2,
            unhealthy_threshold=3,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _rate_limit(name: str, gateway: GatewaySpec, alb: aws.lb.LoadBalancer, parent: pulumi.Resource) -> None:
    """Floods from one address are refused (429) at the edge, before any Python runs. The
    aggregate key is the connecting address the ALB sees, not X-Forwarded-For, which a client
    could set to anything."""
    child = pulumi.ResourceOptions(parent=parent)
    metric = physical_name(name, "edge-rate", limit=128)
    acl = aws.wafv2.WebAcl(
        f"{name}-edge",
        name=physical_name(name, "edge", limit=128),
        description="mcp-deploy: per-address rate limit in front of the gateway",
        scope="REGIONAL",
        default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
        rules=[
            aws.wafv2.WebAclRuleArgs(
                name="per-address-rate",
                priority=1,
                action=aws.wafv2.WebAclRuleActionArgs(
                    block=aws.wafv2.WebAclRuleActionBlockArgs(
                        custom_response=aws.wafv2.WebAclRuleActionBlockCustomResponseArgs(
                            response_code=429,
                            response_headers=[
                                aws.wafv2.WebAclRuleActionBlockCustomResponseResponseHeaderArgs(
                                    name="Retry-After", value=str(WAF_WINDOW_SECONDS // 5)
                                )
                            ],
                        )
                    )
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        aggregate_key_type="IP",
                        limit=waf_limit(gateway.edge_requests_per_minute),
                        evaluation_window_sec=WAF_WINDOW_SECONDS,
                    )
                ),
                visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
                ),
            )
        ],
        visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True,
            metric_name=physical_name(name, "edge", limit=128),
            sampled_requests_enabled=True,
        ),
        opts=child,
    )
    aws.wafv2.WebAclAssociation(f"{name}-edge", resource_arn=alb.arn, web_acl_arn=acl.arn, opts=child)


def _certificate(name: str, domain: str, spec: AwsSpec, parent: pulumi.Resource) -> pulumi.Input[str]:
    if spec.certificate_arn is not None:
        return spec.certificate_arn
    if spec.hosted_zone_id is None:
        raise PlatformArgsError(
            "platform: aws needs hosted_zone_id (to issue a certificate) or certificate_arn"
        )
    child = pulumi.ResourceOptions(parent=parent)
    # Replaced create-first: the listener keeps serving the old one until the new one validates.
    certificate = aws.acm.Certificate(f"{name}-tls", domain_name=domain, validation_method="DNS", opts=child)
    option = certificate.domain_validation_options[0]
    record = aws.route53.Record(
        f"{name}-tls-validation",
        zone_id=spec.hosted_zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=300,
        allow_overwrite=True,
        opts=child,
    )
    validation = aws.acm.CertificateValidation(
        f"{name}-tls", certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn], opts=child
    )
    return validation.certificate_arn
