"""The server on Fargate: its logs, execution role, task definition, service and autoscaling.

No load balancer: only the gateway reaches it (aws/server/routing.py). A container health check
needs a binary in the image (curl, python...) that an arbitrary image may lack, so only our
reference server (Python inside) gets one, on its liveness path; for other images ECS replaces a
task whose process exits, and Service Connect's proxy stops sending to a task that keeps failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.container import container, scratch_volume, secrets_revision
from mcp_deploy.aws.iam import Role, service_role
from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.platform.collector import sidecar
from mcp_deploy.aws.scaling import MetricSpec, scale_service
from mcp_deploy.aws.secret import StoredSecret
from mcp_deploy.aws.server.database import PROVISION_CONTAINER, provision_container
from mcp_deploy.aws.server.routing import PORT_NAME, Routing, plain_env
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec
from mcp_deploy.tracing import SIDECAR_OTLP, tracing_env

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
    environment: dict[str, pulumi.Input[str]] = dict(plain_env(spec, platform))
    t = platform.telemetry
    collector = sidecar(
        t, spec.name, spec.name, (platform.prefix, spec.name), spec.metrics, logs, platform.region, parent
    )
    if collector is not None:
        environment.update(tracing_env(SIDECAR_OTLP, t.sample_ratio, f"mcp-{spec.name}"))
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
    server["portMappings"] = [
        {"name": PORT_NAME, "containerPort": spec.port, "protocol": "tcp", "appProtocol": "http"}
    ]
    if spec.is_reference and spec.liveness is not None:
        server["healthCheck"] = _python_check(spec.port, spec.liveness)
    if startup.pull_credentials is not None:
        server["repositoryCredentials"] = {"credentialsParameter": startup.pull_credentials.arn}
    containers = [server, *([collector.container] if collector is not None else [])]
    if spec.postgres is not None:
        containers.insert(0, provision_container(platform, startup.secrets[spec.postgres.url_env], logs))
        server["dependsOn"] = [{"containerName": PROVISION_CONTAINER, "condition": "SUCCESS"}]
    family = physical_name(platform.prefix, spec.name, limit=255)
    waits: list[pulumi.Resource] = [*startup.versions(), role.policy, *startup.ready]
    if collector is not None:
        waits.append(collector.role.policy)
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
        task_role_arn=collector.role.arn if collector is not None else None,
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
        service_connect_configuration=route.service_connect,
        service_registries=aws.ecs.ServiceServiceRegistriesArgs(registry_arn=route.replicas.arn)
        if route.replicas is not None
        else None,
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=200,
        # `up` fails when the tasks never become healthy, instead of succeeding beside a broken service.
        wait_for_steady_state=True,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        opts=pulumi.ResourceOptions(
            parent=parent,
            # A task must find its secrets' values, its execution role's grants, the data tier,
            # its security-group rules and the NAT routes.
            depends_on=waits,
            # Autoscaling owns the running count after the first deployment.
            ignore_changes=["desiredCount"],
        ),
    )
    _autoscaling(spec, platform, service, parent)
    return Workload(log_group=logs, execution_role=role, task=task, service=service)


def _python_check(port: int, path: str) -> dict[str, Any]:
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=2)"
    return {
        "command": ["CMD", "python", "-c", probe],
        "interval": 15,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 30,
    }


def _autoscaling(
    spec: ServerSpec, platform: AwsPlatform, service: aws.ecs.Service, parent: pulumi.Resource
) -> None:
    """On CPU: no load balancer counts a server's requests any more (the gateway's own scaling
    follows the ALB's request count)."""
    targets = {
        "cpu": (
            MetricSpec(predefined_metric_type="ECSServiceAverageCPUUtilization"),
            float(spec.target_cpu_percent),
        )
    }
    scale_service(
        f"{spec.name}-server",
        spec.name,
        (platform.prefix, spec.name),
        platform.cluster,
        service,
        (spec.min_replicas, spec.max_replicas),
        targets,
        parent,
    )
