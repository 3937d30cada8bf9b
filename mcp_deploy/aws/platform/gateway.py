"""The gateway: the platform's one public service, built in `AwsPlatform.finish()` once every
server has registered its route.

Its image (built from gateway/Dockerfile, context the repository root) in an ECR repository of its
own; its signing key (EC P-256, generated, in Secrets Manager) and, with Redis, its Redis URL, both
handed by reference; a Fargate service of at least two tasks (Fargate spreads them over the
private subnets' zones) behind the ALB's target group, a Service Connect client of every server,
its tasks listed in Cloud Map DNS as `gateway.<namespace>`, where servers fetch its JWKS (why not
over Service Connect: discovery.py).

GATEWAY_ROUTES is plain JSON built from the servers' specs: upstream `http://<name>:<port>` over
Service Connect; a sticky server's upstream is its Cloud Map DNS name with `"discovery": "dns"`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from mcp_deploy.aws.alarm import alarm, five_xx_rate
from mcp_deploy.aws.container import container, scratch_volume, secrets_revision
from mcp_deploy.aws.iam import Role, service_role
from mcp_deploy.aws.images import built_image, repository
from mcp_deploy.aws.platform.collector import sidecar
from mcp_deploy.aws.scaling import MetricSpec, scale_service
from mcp_deploy.aws.secret import StoredSecret, stored_secret
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import DRAIN_SECONDS, MetricsUse, ServerSpec
from mcp_deploy.tracing import SIDECAR_OTLP, tracing_env

if TYPE_CHECKING:
    from mcp_deploy.aws.platform import AwsPlatform

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "gateway" / "Dockerfile"
CONTAINER = "gateway"
HOST = "gateway"  # its tasks' DNS name in the platform's private namespace
USER = 10001  # gateway/Dockerfile's non-root user
REDIS_KEY_PREFIX = "gateway:"
MIN_TASKS = 2  # one zone's loss leaves a gateway serving


@dataclass(frozen=True)
class Upstream:
    """A server as the gateway reaches it; AwsServer registers one with the platform."""

    spec: ServerSpec
    host: str  # its Service Connect name, or for a sticky server its replicas' DNS name
    discovery: Literal["dns", "none"]
    service: aws.ecs.Service  # the gateway starts after it, so its route resolves


@dataclass(frozen=True)
class Gateway:
    image: pulumi.Output[str]
    signing_key: StoredSecret
    redis_url: StoredSecret | None
    execution_role: Role
    task: aws.ecs.TaskDefinition
    service: aws.ecs.Service


def routes(upstreams: list[Upstream]) -> dict[str, dict[str, Any]]:
    """GATEWAY_ROUTES: route name -> where and how the gateway forwards it (gateway contract)."""
    return {
        u.spec.name: {
            "upstream": f"http://{u.host}:{u.spec.port}",
            "path": u.spec.path,
            "scopes": list(u.spec.scopes),
            "sticky": u.spec.sticky,
            "discovery": u.discovery,
        }
        for u in sorted(upstreams, key=lambda u: u.spec.name)
    }


def gateway(platform: AwsPlatform, upstreams: list[Upstream]) -> Gateway:
    name, spec = platform.prefix, platform.spec
    repo = repository(
        f"{name}-gateway", (name, "gateway"), spec.registry_keep_images, spec.production, platform
    )
    image = built_image(f"{name}-gateway", ROOT, repo, platform, dockerfile=DOCKERFILE)
    signing_key = _signing_key(platform)
    redis_url = (
        stored_secret(
            f"{name}-gateway-redis-url",
            (name, "gateway-redis-url"),
            "REDIS_URL of the MCP gateway (shared limits and the sticky-session map)",
            platform.redis.url(),
            spec.production,
            platform,
        )
        if platform.redis is not None
        else None
    )
    secrets = {"GATEWAY_SIGNING_KEY": signing_key, **({"REDIS_URL": redis_url} if redis_url else {})}
    if spec.sentry_dsn is not None:
        secrets["SENTRY_DSN"] = stored_secret(
            f"{name}-gateway-sentry-dsn",
            (name, "gateway-sentry-dsn"),
            "SENTRY_DSN of the MCP gateway (error reports)",
            spec.sentry_dsn,
            spec.production,
            platform,
        )
    logs = aws.cloudwatch.LogGroup(
        f"{name}-gateway",
        name=f"/mcp-deploy/{physical_name(name, 'gateway', limit=400)}",
        retention_in_days=spec.log_retention_days,
        opts=pulumi.ResourceOptions(parent=platform),
    )
    role = _execution_role(platform, logs, list(secrets.values()), repo)
    t = platform.telemetry
    metrics = MetricsUse(port=spec.gateway.port)
    collector = sidecar(
        t, "gateway", f"{name}-gateway", (name, "gateway"), metrics, logs, platform.region, platform
    )
    assert collector is not None  # the gateway always serves /metrics
    definition = container(
        CONTAINER,
        image,
        {**environment(platform, upstreams), **tracing_env(SIDECAR_OTLP, t.sample_ratio, "mcp-gateway")},
        {env: stored.arn for env, stored in secrets.items()},
        logs,
        platform.region,
        user=USER,
        revision=secrets_revision([s.version for s in secrets.values()]),
    )
    definition["portMappings"] = [
        {"name": CONTAINER, "containerPort": spec.gateway.port, "protocol": "tcp", "appProtocol": "http"}
    ]
    # The image has Python, so a container check costs nothing extra: ECS replaces a hung task
    # even between the load balancer's checks.
    definition["healthCheck"] = {
        "command": [
            "CMD",
            "python",
            "-c",
            "import urllib.request; "
            f"urllib.request.urlopen('http://127.0.0.1:{spec.gateway.port}/health', timeout=2)",
        ],
        "interval": 15,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 15,
    }
    versions = [s.version for s in secrets.values()]
    ready: list[pulumi.Resource] = [
        *versions,
        role.policy,
        collector.role.policy,
        *platform.network.egress,
        *platform.gateway_rules,
        *([platform.redis.group] if platform.redis is not None else []),
    ]
    family = gateway_service_name(name)
    task = aws.ecs.TaskDefinition(
        f"{name}-gateway",
        family=family,
        cpu=str(spec.gateway.cpu),
        memory=str(spec.gateway.memory),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=role.arn,
        task_role_arn=collector.role.arn,
        volumes=[scratch_volume()],
        container_definitions=pulumi.Output.json_dumps([definition, collector.container]),
        opts=pulumi.ResourceOptions(parent=platform, depends_on=ready),
    )
    service = aws.ecs.Service(
        f"{name}-gateway",
        name=family,
        cluster=platform.cluster.arn,
        task_definition=task.arn,
        desired_count=max(MIN_TASKS, spec.gateway.min_replicas),
        launch_type="FARGATE",
        platform_version="LATEST",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=platform.network.private_subnet_ids,
            security_groups=[platform.gateway_group.id],
            assign_public_ip=False,
        ),
        load_balancers=[
            aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=platform.edge.gateway_targets.arn,
                container_name=CONTAINER,
                container_port=spec.gateway.port,
            )
        ],
        service_connect_configuration=platform.discovery.connect(),  # a client of every server
        service_registries=aws.ecs.ServiceServiceRegistriesArgs(
            registry_arn=platform.discovery.gateway_records.arn
        ),
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=200,
        health_check_grace_period_seconds=30,
        wait_for_steady_state=True,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        opts=pulumi.ResourceOptions(
            parent=platform,
            # The listener forwards to the target group before ECS registers tasks in it; every
            # server's service exists (its Service Connect name resolves) before a route names it.
            depends_on=[platform.edge.https, *ready, *(u.service for u in upstreams)],
            ignore_changes=["desiredCount"],  # autoscaling owns it after the first deployment
        ),
    )
    _autoscaling(platform, service)
    _alarms(platform)
    return Gateway(
        image=image,
        signing_key=signing_key,
        redis_url=redis_url,
        execution_role=role,
        task=task,
        service=service,
    )


def gateway_service_name(prefix: str) -> str:
    """The ECS service's (and task family's) name: known before the service exists, for the
    servers' alarms on the requests it sends them."""
    return physical_name(prefix, "gateway", limit=255)


def environment(platform: AwsPlatform, upstreams: list[Upstream]) -> dict[str, pulumi.Input[str]]:
    spec = platform.spec
    env: dict[str, pulumi.Input[str]] = {
        "GATEWAY_HOST": "0.0.0.0",
        "GATEWAY_PORT": str(spec.gateway.port),
        "GATEWAY_PUBLIC_URL": f"https://{spec.domain}",
        "GATEWAY_ROUTES": json.dumps(routes(upstreams), sort_keys=True),
        "GATEWAY_ISSUER": platform.gateway_issuer,
        "AUTH_ISSUER": spec.auth_issuer,
        "RATE_LIMIT_PER_MINUTE": str(spec.gateway.rate_limit_per_minute),
        "DRAIN_SECONDS": str(DRAIN_SECONDS),
        "TMPDIR": "/tmp",
    }
    if spec.auth_audience is not None:
        env["AUTH_AUDIENCE"] = spec.auth_audience
    if spec.gateway.allowed_origins:
        env["GATEWAY_ALLOWED_ORIGINS"] = ",".join(spec.gateway.allowed_origins)
    if platform.redis is not None:
        env["REDIS_KEY_PREFIX"] = REDIS_KEY_PREFIX
    return env


def _signing_key(platform: AwsPlatform) -> StoredSecret:
    """One key every replica signs upstream tokens with; servers verify them through the JWKS
    the gateway derives from it. Replacing the key resource rotates it (tasks roll with it)."""
    key = tls.PrivateKey(
        f"{platform.prefix}-gateway-signing-key",
        algorithm="ECDSA",
        ecdsa_curve="P256",
        opts=pulumi.ResourceOptions(parent=platform),
    )
    return stored_secret(
        f"{platform.prefix}-gateway-signing-key",
        (platform.prefix, "gateway-signing-key"),
        "GATEWAY_SIGNING_KEY: the MCP gateway's EC P-256 key for upstream tokens (PEM)",
        key.private_key_pem,
        platform.spec.production,
        platform,
    )


def _execution_role(
    platform: AwsPlatform,
    logs: aws.cloudwatch.LogGroup,
    secrets: list[StoredSecret],
    repo: aws.ecr.Repository,
) -> Role:
    return service_role(
        f"{platform.prefix}-gateway-execution",
        (platform.prefix, "gateway", "execution"),
        "ecs-tasks.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [logs.arn.apply(lambda arn: f"{arn}:*")],
            },
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [s.arn for s in secrets],
            },
            # GetAuthorizationToken has no resource form; by itself it reads nothing.
            {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                "Resource": [repo.arn],
            },
        ],
        platform,
    )


def _autoscaling(platform: AwsPlatform, service: aws.ecs.Service) -> None:
    name, spec = platform.prefix, platform.spec.gateway
    targets = {
        "cpu": (MetricSpec(predefined_metric_type="ECSServiceAverageCPUUtilization"), 60.0),
        # Forwarding is cheap per request; streams hold connections, not CPU. 1000 a minute a task.
        "requests": (
            MetricSpec(
                predefined_metric_type="ALBRequestCountPerTarget",
                resource_label=pulumi.Output.concat(
                    platform.edge.load_balancer.arn_suffix, "/", platform.edge.gateway_targets.arn_suffix
                ),
            ),
            1000.0,
        ),
    }
    replicas = (max(MIN_TASKS, spec.min_replicas), max(MIN_TASKS, spec.max_replicas))
    scale_service(
        f"{name}-gateway",
        f"{name}-gateway",
        (name, "gateway"),
        platform.cluster,
        service,
        replicas,
        targets,
        platform,
    )


def _alarms(platform: AwsPlatform) -> None:
    name = platform.prefix
    target = {
        "LoadBalancer": platform.edge.load_balancer.arn_suffix,
        "TargetGroup": platform.edge.gateway_targets.arn_suffix,
    }
    five_xx_rate(
        f"{name}-gateway-5xx-rate",
        (name, "gateway-5xx-rate"),
        "More than 5% of requests through the gateway failed with a 5xx for 10 minutes",
        "AWS/ApplicationELB",
        target,
        platform.topic,
        platform,
    )
    alarm(
        f"{name}-gateway-unhealthy-hosts",
        (name, "gateway-unhealthy-hosts"),
        "A gateway task fails its health check (no healthy task is an outage of every server)",
        aws.cloudwatch.MetricAlarmArgs(
            namespace="AWS/ApplicationELB",
            metric_name="UnHealthyHostCount",
            dimensions=target,
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
        ),
        platform.topic,
        platform,
    )
