"""TLS and the load balancer: an ACM certificate validated in Route 53 (or an existing one), an
ALB that speaks only modern TLS and redirects HTTP. The HTTPS listener answers 404 to anything no
server's rule claims; servers add their own rules (see aws/server/routing.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.platform.network import Network
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import AwsSpec, PlatformArgsError

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3, and 1.2 with forward secrecy only
IDLE_TIMEOUT_SECONDS = 900  # streamed responses and subscriptions/listen stay open this long
ALB_NAME_LIMIT = 32


@dataclass(frozen=True)
class Edge:
    load_balancer: aws.lb.LoadBalancer
    https: aws.lb.Listener


def edge(
    name: str,
    domain: str,
    spec: AwsSpec,
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
    https = aws.lb.Listener(
        f"{name}-https",
        load_balancer_arn=alb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy=TLS_POLICY,
        certificate_arn=certificate_arn,
        default_actions=[
            aws.lb.ListenerDefaultActionArgs(
                type="fixed-response",
                fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="application/json", status_code="404", message_body='{"error": "not found"}'
                ),
            )
        ],
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
    return Edge(load_balancer=alb, https=https)


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
