"""TLS and the load balancer: an ACM certificate validated in Route 53 (or an existing one), an
ALB that speaks only modern TLS, redirects HTTP, and forwards the MCP paths to the tasks.

Only /mcp and the RFC 9728 metadata are forwarded; /metrics, /ready and /health stay private
(the target group checks /health from inside the VPC)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mcp_deploy.args import DRAIN_SECONDS, SERVER_PORT, AwsArgs
from mcp_deploy.aws.network import Network
from mcp_deploy.aws.security import SecurityGroups

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3, and 1.2 with forward secrecy only
IDLE_TIMEOUT_SECONDS = 900  # streamed responses and subscriptions/listen stay open this long
PUBLIC_PATHS = ["/mcp", "/mcp/*", "/.well-known/oauth-protected-resource*"]


@dataclass(frozen=True)
class Edge:
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    https: aws.lb.Listener
    # ECS refuses a target group no listener rule forwards to yet; the service waits for this.
    routing: aws.lb.ListenerRule


def edge(
    name: str,
    domain: str,
    args: AwsArgs,
    net: Network,
    groups: SecurityGroups,
    production: bool,
    parent: pulumi.Resource,
) -> Edge:
    child = pulumi.ResourceOptions(parent=parent)
    certificate_arn = _certificate(name, domain, args, parent)
    alb = aws.lb.LoadBalancer(
        f"{name}-alb",
        load_balancer_type="application",
        internal=False,
        security_groups=[groups.alb.id],
        subnets=net.public_subnet_ids,
        idle_timeout=IDLE_TIMEOUT_SECONDS,
        drop_invalid_header_fields=True,
        enable_deletion_protection=production,
        opts=child,
    )
    target_group = aws.lb.TargetGroup(
        f"{name}-tasks",
        port=SERVER_PORT,
        protocol="HTTP",
        target_type="ip",
        vpc_id=net.vpc_id,
        deregistration_delay=DRAIN_SECONDS + 5,  # a little longer than the server drains
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            path="/health", matcher="200", interval=15, timeout=5, healthy_threshold=2, unhealthy_threshold=3
        ),
        opts=child,
    )
    https = aws.lb.Listener(
        f"{name}-https",
        load_balancer_arn=alb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy=TLS_POLICY,
        certificate_arn=certificate_arn,
        default_actions=[_not_found()],
        opts=child,
    )
    routing = aws.lb.ListenerRule(
        f"{name}-mcp",
        listener_arn=https.arn,
        priority=10,
        conditions=[
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=PUBLIC_PATHS)
            )
        ],
        actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)],
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
    if args.hosted_zone_id is not None:
        aws.route53.Record(
            f"{name}-domain",
            zone_id=args.hosted_zone_id,
            name=domain,
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True
                )
            ],
            opts=child,
        )
    return Edge(load_balancer=alb, target_group=target_group, https=https, routing=routing)


def _certificate(name: str, domain: str, args: AwsArgs, parent: pulumi.Resource) -> pulumi.Input[str]:
    if args.certificate_arn is not None:
        return args.certificate_arn
    assert args.hosted_zone_id is not None, "config requires a zone or a certificate"
    child = pulumi.ResourceOptions(parent=parent)
    certificate = aws.acm.Certificate(
        f"{name}-tls",
        domain_name=domain,
        validation_method="DNS",
        # replaced create-first: the listener keeps serving the old one until the new validates
        opts=child,
    )
    option = certificate.domain_validation_options[0]
    record = aws.route53.Record(
        f"{name}-tls-validation",
        zone_id=args.hosted_zone_id,
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


def _not_found() -> aws.lb.ListenerDefaultActionArgs:
    return aws.lb.ListenerDefaultActionArgs(
        type="fixed-response",
        fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
            content_type="application/json", status_code="404", message_body='{"error": "not found"}'
        ),
    )
