"""The server on Fargate: cluster, logs, the task and its roles, the service, autoscaling.

The container runs as UID 10001 on a read-only root filesystem with a scratch /tmp; non-secret
settings come as environment, secrets only as Secrets Manager ARNs (`secrets`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mcp_deploy.args import DRAIN_SECONDS, SERVER_PORT, McpServiceArgs
from mcp_deploy.aws.edge import Edge
from mcp_deploy.aws.iam import service_role
from mcp_deploy.aws.network import Network
from mcp_deploy.aws.secrets import ServerSecrets
from mcp_deploy.aws.security import SecurityGroups

CONTAINER = "mcp"
# The image has no curl; its Python asks /health, as the image's own HEALTHCHECK does.
HEALTH_PROBE = (
    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{SERVER_PORT}/health', timeout=2)"
)
SERVER_USER = "10001:10001"  # the image's non-root user


@dataclass(frozen=True)
class Compute:
    cluster: aws.ecs.Cluster
    service: aws.ecs.Service
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role


def container(
    image: pulumi.Input[str],
    command: list[str],
    environment: dict[str, pulumi.Input[str]],
    secrets: dict[str, pulumi.Input[str]],
    log_group: aws.cloudwatch.LogGroup,
    stream_prefix: str,
    region: pulumi.Input[str],
    with_port: bool,
) -> dict[str, Any]:
    """One hardened container definition; the server and the backup job share its shape."""
    definition: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "command": command,
        "essential": True,
        "user": SERVER_USER,
        "readonlyRootFilesystem": True,
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "stopTimeout": DRAIN_SECONDS + 10,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group.name,
                "awslogs-region": region,
                "awslogs-stream-prefix": stream_prefix,
            },
        },
    }
    if with_port:
        definition["portMappings"] = [{"containerPort": SERVER_PORT, "protocol": "tcp"}]
        definition["healthCheck"] = {
            "command": [
                "CMD",
                "python",
                "-c",
                HEALTH_PROBE,
            ],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 15,
        }
    return definition


def compute(
    name: str,
    args: McpServiceArgs,
    image: pulumi.Output[str],
    net: Network,
    groups: SecurityGroups,
    secrets: ServerSecrets,
    front: Edge,
    region: pulumi.Output[str],
    repository_arn: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> Compute:
    child = pulumi.ResourceOptions(parent=parent)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-server", retention_in_days=args.service.log_retention_days, opts=child
    )
    cluster = aws.ecs.Cluster(
        f"{name}-cluster",
        settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
        opts=child,
    )
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": log_group.arn.apply(lambda arn: f"{arn}:*"),
        },
        # Exactly the three secrets this service reads.
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets.arns()},
    ]
    if repository_arn is not None:
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
                "Resource": repository_arn,
            },
        ]
    execution_role = service_role(f"{name}-execution", "ecs-tasks.amazonaws.com", statements, parent)
    environment: dict[str, pulumi.Input[str]] = {**args.server_settings()}
    task = aws.ecs.TaskDefinition(
        f"{name}-server",
        family=f"{name}-server",
        cpu=str(args.service.cpu),
        memory=str(args.service.memory_mib),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=execution_role.arn,
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
        container_definitions=pulumi.Output.json_dumps(
            [
                container(
                    image, ["serve"], environment, _secret_refs(secrets), log_group, "server", region, True
                )
            ]
        ),
        opts=child,
    )
    service = aws.ecs.Service(
        f"{name}-server",
        cluster=cluster.arn,
        task_definition=task.arn,
        desired_count=args.service.min_replicas,
        launch_type="FARGATE",
        platform_version="LATEST",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=net.private_subnet_ids, security_groups=[groups.tasks.id], assign_public_ip=False
        ),
        load_balancers=[
            aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=front.target_group.arn, container_name=CONTAINER, container_port=SERVER_PORT
            )
        ],
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=200,
        health_check_grace_period_seconds=30,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        # Autoscaling owns the running count after the first deployment.
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[front.https, front.routing], ignore_changes=["desiredCount"]
        ),
    )
    _autoscaling(name, args, cluster, service, front, parent)
    return Compute(cluster=cluster, service=service, log_group=log_group, execution_role=execution_role)


def _autoscaling(
    name: str,
    args: McpServiceArgs,
    cluster: aws.ecs.Cluster,
    service: aws.ecs.Service,
    front: Edge,
    parent: pulumi.Resource,
) -> None:
    child = pulumi.ResourceOptions(parent=parent)
    target = aws.appautoscaling.Target(
        f"{name}-server",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
        min_capacity=args.service.min_replicas,
        max_capacity=args.service.max_replicas,
        opts=child,
    )
    metrics = {
        "cpu": (
            aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="ECSServiceAverageCPUUtilization"
            ),
            float(args.service.target_cpu_percent),
        ),
        # Requests per task per minute: `concurrency` requests in flight at ~1 s each.
        "requests": (
            aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="ALBRequestCountPerTarget",
                resource_label=pulumi.Output.concat(
                    front.load_balancer.arn_suffix, "/", front.target_group.arn_suffix
                ),
            ),
            float(args.service.concurrency * 60),
        ),
    }
    for label, (metric, value) in metrics.items():
        aws.appautoscaling.Policy(
            f"{name}-scale-{label}",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                predefined_metric_specification=metric,
                target_value=value,
                scale_in_cooldown=300,
                scale_out_cooldown=60,
            ),
            opts=child,
        )


def _secret_refs(secrets: ServerSecrets) -> dict[str, pulumi.Input[str]]:
    return {
        "DATABASE_URL": secrets.database_url.arn,
        "REDIS_URL": secrets.redis_url.arn,
        "MCP_REQUEST_STATE_KEY": secrets.request_state_key.arn,
    }


def ecr_repository_arn(reference: str) -> str | None:
    """The repository ARN of an ECR image reference (ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo:tag),
    or None for any other registry."""
    host, _, path = reference.partition("/")
    parts = host.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not host.endswith(".amazonaws.com"):
        return None
    repository = path.split("@")[0].split(":")[0]
    return f"arn:aws:ecr:{parts[3]}:{parts[0]}:repository/{repository}"
