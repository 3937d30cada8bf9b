"""The server on Fargate: its logs, execution role, task definition, service and autoscaling.

No container health check: a check command needs a binary in the image (curl, python...) that an
arbitrary image may lack. The target group checks the server's own readiness path on its own
port instead, and ECS replaces tasks it marks unhealthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.container import container, scratch_volume, secrets_revision
from mcp_deploy.aws.iam import Role, service_role
from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.secret import StoredSecret
from mcp_deploy.aws.server.database import PROVISION_CONTAINER, provision_container
from mcp_deploy.aws.server.routing import Routing
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec

CONTAINER = "server"


@dataclass(frozen=True)
class Workload:
    log_group: aws.cloudwatch.LogGroup
    execution_role: Role
    task: aws.ecs.TaskDefinition
    service: aws.ecs.Service


@dataclass(frozen=True)
class Startup:
    """What a task must find in place when it starts; the service depends on all of it."""

    secrets: dict[str, StoredSecret]
    pull_credentials: StoredSecret | None
    ready: list[pulumi.Resource]  # data tier, network routes and rules

    def versions(self) -> list[aws.secretsmanager.SecretVersion]:
        stored = [*self.secrets.values(), *([self.pull_credentials] if self.pull_credentials else [])]
        return [s.version for s in stored]


def log_group(spec: ServerSpec, platform: AwsPlatform, parent: pulumi.Resource) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        f"{spec.name}-server",
        name=f"/mcp-deploy/{physical_name(platform.prefix, spec.name, limit=400)}",
        retention_in_days=platform.spec.log_retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def execution_role(
    spec: ServerSpec,
    platform: AwsPlatform,
    logs: list[aws.cloudwatch.LogGroup],
    startup: Startup,
    repositories: list[pulumi.Input[str]],
    parent: pulumi.Resource,
) -> Role:
    """May write its logs, read exactly the secrets its containers name, pull from exactly its
    repositories (and, with a database, the backup image's, for the provisioning step)."""
    readable = [s.arn for s in startup.secrets.values()]
    if startup.pull_credentials is not None:
        readable.append(startup.pull_credentials.arn)
    if spec.postgres is not None and platform.postgres is not None:
        readable.append(platform.postgres.admin_url.arn)
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [group.arn.apply(lambda arn: f"{arn}:*") for group in logs],
        }
    ]
    if readable:
        statements.append(
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": readable}
        )
    if repositories:
        statements += [
            # GetAuthorizationToken has no resource form; by itself it reads nothing.
            {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                "Resource": repositories,
            },
        ]
    return service_role(
        f"{spec.name}-execution",
        (platform.prefix, spec.name, "execution"),
        "ecs-tasks.amazonaws.com",
        statements,
        parent,
    )


def workload(
    spec: ServerSpec,
    platform: AwsPlatform,
    image: pulumi.Output[str],
    logs: aws.cloudwatch.LogGroup,
    role: Role,
    startup: Startup,
    route: Routing,
    parent: pulumi.Resource,
) -> Workload:
    environment: dict[str, pulumi.Input[str]] = dict(
        spec.plain_env(platform.spec.domain, platform.spec.auth_issuer, platform.spec.auth_audience)
    )
    server: dict[str, Any] = container(
        CONTAINER,
        image,
        environment,
        {env: stored.arn for env, stored in startup.secrets.items()},
        logs,
        platform.region,
        entry_point=spec.command,
        command=spec.args,
        user=spec.user,
        read_only_root=spec.read_only_root_filesystem,
        revision=secrets_revision(startup.versions()),
    )
    server["portMappings"] = [{"containerPort": spec.port, "protocol": "tcp"}]
    if startup.pull_credentials is not None:
        server["repositoryCredentials"] = {"credentialsParameter": startup.pull_credentials.arn}
    containers = [server]
    if spec.postgres is not None:
        containers.insert(0, provision_container(platform, startup.secrets[spec.postgres.url_env], logs))
        server["dependsOn"] = [{"containerName": PROVISION_CONTAINER, "condition": "SUCCESS"}]
    family = physical_name(platform.prefix, spec.name, limit=255)
    waits: list[pulumi.Resource] = [*startup.versions(), role.policy, *startup.ready]
    task = aws.ecs.TaskDefinition(
        f"{spec.name}-server",
        family=family,
        cpu=str(spec.cpu),
        memory=str(spec.memory),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=role.arn,
        volumes=[scratch_volume()],
        container_definitions=pulumi.Output.json_dumps(containers),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits),
    )
    service = aws.ecs.Service(
        f"{spec.name}-server",
        name=family,
        cluster=platform.cluster.arn,
        task_definition=task.arn,
        desired_count=spec.min_replicas,
        launch_type="FARGATE",
        platform_version="LATEST",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=platform.network.private_subnet_ids,
            security_groups=[route.group.id],
            assign_public_ip=False,
        ),
        load_balancers=[
            aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=route.target_group.arn, container_name=CONTAINER, container_port=spec.port
            )
        ],
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=200,
        health_check_grace_period_seconds=30,
        # `up` fails when the tasks never become healthy, instead of succeeding beside a broken service.
        wait_for_steady_state=True,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        opts=pulumi.ResourceOptions(
            parent=parent,
            # ECS refuses a target group no listener rule forwards to yet; and a task must find its
            # secrets' values, its execution role's grants, the data tier and the NAT routes.
            depends_on=[*route.rules, *waits],
            # Autoscaling owns the running count after the first deployment.
            ignore_changes=["desiredCount"],
        ),
    )
    _autoscaling(spec, platform, service, route, parent)
    return Workload(log_group=logs, execution_role=role, task=task, service=service)


def _autoscaling(
    spec: ServerSpec, platform: AwsPlatform, service: aws.ecs.Service, route: Routing, parent: pulumi.Resource
) -> None:
    child = pulumi.ResourceOptions(parent=parent)
    target = aws.appautoscaling.Target(
        f"{spec.name}-server",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", platform.cluster.name, "/", service.name),
        min_capacity=spec.min_replicas,
        max_capacity=spec.max_replicas,
        opts=child,
    )
    metric = (
        aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs
    )
    metrics = {
        "cpu": (
            metric(predefined_metric_type="ECSServiceAverageCPUUtilization"),
            float(spec.target_cpu_percent),
        ),
        # Requests per task per minute: `concurrency` requests in flight at ~1 s each.
        "requests": (
            metric(
                predefined_metric_type="ALBRequestCountPerTarget",
                resource_label=pulumi.Output.concat(
                    platform.edge.load_balancer.arn_suffix, "/", route.target_group.arn_suffix
                ),
            ),
            float(spec.concurrency * 60),
        ),
    }
    for label, (specification, value) in metrics.items():
        aws.appautoscaling.Policy(
            f"{spec.name}-scale-{label}",
            name=physical_name(platform.prefix, spec.name, label, limit=255),
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                predefined_metric_specification=specification,
                target_value=value,
                scale_in_cooldown=300,
                scale_out_cooldown=60,
            ),
            opts=child,
        )
