"""How requests reach one server: its own security group (the load balancer in on its port; it out
to the data it uses and to HTTPS), its target group, and two rules on the platform's listener.

`https://<domain>/<name><path>` (and everything under it) is forwarded with the `/<name>` prefix
cut by an ALB url-rewrite transform, so the server sees its own `path`; its RFC 9728 metadata
path is forwarded unchanged. Nothing else of the server is public.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.security import POSTGRES_PORT, REDIS_PORT, allow, https_out, security_group
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import DRAIN_SECONDS, ServerSpec

TARGET_GROUP_NAME_LIMIT = 32
# Characters ALB's regex syntax gives a meaning; server names never have them, paths might.
_REGEX_SPECIAL = set(".^$*+?()[]{}|\\")


@dataclass(frozen=True)
class Routing:
    group: aws.ec2.SecurityGroup
    target_group: aws.lb.TargetGroup
    rules: list[aws.lb.ListenerRule]
    # Security-group rules the tasks need at start (to the database, Redis, HTTPS).
    network_rules: list[pulumi.Resource]


def routing(spec: ServerSpec, platform: AwsPlatform, parent: pulumi.Resource) -> Routing:
    name, prefix = spec.name, platform.prefix
    group = security_group(
        f"{name}-tasks", (prefix, name, "tasks"), platform.network.vpc_id, f"MCP server {name} tasks", parent
    )
    network_rules = [
        *allow(f"{name}-alb-to-tasks", platform.alb_group, group, spec.port, parent),
        https_out(f"{name}-tasks", group, parent),
    ]
    if spec.postgres is not None and platform.postgres_group is not None:
        network_rules += allow(f"{name}-to-postgres", group, platform.postgres_group, POSTGRES_PORT, parent)
    if spec.redis is not None and platform.redis_group is not None:
        network_rules += allow(f"{name}-to-redis", group, platform.redis_group, REDIS_PORT, parent)
    target_group = _target_group(spec, platform, parent)
    return Routing(
        group=group,
        target_group=target_group,
        rules=_listener_rules(spec, platform, target_group, parent),
        network_rules=network_rules,
    )


def health_check(spec: ServerSpec) -> aws.lb.TargetGroupHealthCheckArgs:
    """The readiness path (else liveness) must answer 2xx; with neither, any HTTP answer on the
    port but a 5xx counts (the closest an HTTP check comes to the TCP check the spec asks for)."""
    path = spec.readiness or spec.liveness
    return aws.lb.TargetGroupHealthCheckArgs(
        path=path or "/",
        port="traffic-port",
        matcher="200-299" if path else "200-499",
        interval=15,
        timeout=5,
        healthy_threshold=2,
        unhealthy_threshold=3,
    )


def rewrite(spec: ServerSpec) -> tuple[str, str]:
    """(regex, replacement) that turns /<name><path>... into <path>..., query string kept."""
    public = _escaped(f"{spec.route_prefix}{spec.path}")
    return f"^{public}(.*)$", f"{spec.path}$1"


def _target_group(spec: ServerSpec, platform: AwsPlatform, parent: pulumi.Resource) -> aws.lb.TargetGroup:
    # The port is part of the name: a new port replaces the group, and the replacement (created
    # before the old one is deleted) must not ask for the name the old one still holds.
    return aws.lb.TargetGroup(
        f"{spec.name}-tasks",
        name=physical_name(platform.prefix, spec.name, str(spec.port), limit=TARGET_GROUP_NAME_LIMIT),
        port=spec.port,
        protocol="HTTP",
        target_type="ip",
        vpc_id=platform.network.vpc_id,
        deregistration_delay=DRAIN_SECONDS + 5,  # a little longer than the server drains
        health_check=health_check(spec),
        stickiness=aws.lb.TargetGroupStickinessArgs(type="lb_cookie", enabled=True, cookie_duration=86400)
        if spec.sticky
        else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _listener_rules(
    spec: ServerSpec, platform: AwsPlatform, target_group: aws.lb.TargetGroup, parent: pulumi.Resource
) -> list[aws.lb.ListenerRule]:
    priority = platform.rule_priority(spec.name)
    public = f"{spec.route_prefix}{spec.path}"
    regex, replacement = rewrite(spec)
    forward = [aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)]
    child = pulumi.ResourceOptions(parent=parent)
    mcp = aws.lb.ListenerRule(
        f"{spec.name}-mcp",
        listener_arn=platform.edge.https.arn,
        priority=priority,
        conditions=[
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[public, f"{public}/*"])
            )
        ],
        transforms=[
            aws.lb.ListenerRuleTransformArgs(
                type="url-rewrite",
                url_rewrite_config=aws.lb.ListenerRuleTransformUrlRewriteConfigArgs(
                    rewrite=aws.lb.ListenerRuleTransformUrlRewriteConfigRewriteArgs(
                        regex=regex, replace=replacement
                    )
                ),
            )
        ],
        actions=forward,
        opts=child,
    )
    metadata = aws.lb.ListenerRule(
        f"{spec.name}-metadata",
        listener_arn=platform.edge.https.arn,
        priority=priority + 1,
        conditions=[
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[spec.metadata_path])
            )
        ],
        actions=forward,
        opts=child,
    )
    return [mcp, metadata]


def _escaped(text: str) -> str:
    return "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in text)
