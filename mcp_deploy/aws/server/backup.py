"""The server's database in the platform's scheduled dumps: a task running `mcp-backup dump` with
the server's database URL as `PG_URL_<NAME>`, on the platform's schedule, an alarm when no run
succeeded for 26 hours, and the command that restores it."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.alarm import alarm
from mcp_deploy.aws.container import BACKUP_USER, container, scratch_volume, secrets_revision
from mcp_deploy.aws.iam import Role, service_role
from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.platform.backups import stopped_task_pattern
from mcp_deploy.aws.platform.drill import server_drill
from mcp_deploy.aws.secret import StoredSecret
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec

CONTAINER = "backup"
HOURS_WITHOUT_SUCCESS = 26  # a daily schedule, plus its retries and a run's length


def url_env(server: str) -> str:
    return "PG_URL_" + server.upper().replace("-", "_")


def backup(
    spec: ServerSpec,
    platform: AwsPlatform,
    url: StoredSecret,
    execution_role: Role,
    ready: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """Registers the task, schedule and alarm; returns the restore command."""
    stored = platform.backups
    assert stored is not None
    family = physical_name(stored.family_prefix, spec.name, limit=255, stack="")
    job = container(
        CONTAINER,
        stored.image,
        {"BACKUP_URL": stored.url(), "AWS_REGION": platform.region, "TMPDIR": "/tmp"},
        {url_env(spec.name): url.arn},
        stored.log_group,
        platform.region,
        entry_point=["mcp-backup"],
        command=["dump"],
        user=BACKUP_USER,
        revision=secrets_revision([url.version]),
    )
    waits: list[pulumi.Resource] = [url.version, execution_role.policy, stored.task_role.policy, *ready]
    task = aws.ecs.TaskDefinition(
        f"{spec.name}-backup",
        family=family,
        cpu="512",
        memory="1024",
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=execution_role.arn,
        task_role_arn=stored.task_role.arn,
        volumes=[scratch_volume()],
        # The dump is written under /tmp before upload: room for the whole database.
        ephemeral_storage=aws.ecs.TaskDefinitionEphemeralStorageArgs(size_in_gib=stored.ephemeral_gib),
        container_definitions=pulumi.Output.json_dumps([job]),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits),
    )
    scheduler = service_role(
        f"{spec.name}-backup-scheduler",
        (platform.prefix, spec.name, "backup-scheduler"),
        "scheduler.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["ecs:RunTask"],
                "Resource": task.arn_without_revision.apply(lambda arn: f"{arn}:*"),
            },
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [execution_role.arn, stored.task_role.arn],
            },
        ],
        parent,
    )
    aws.scheduler.Schedule(
        f"{spec.name}-backup",
        name=physical_name(platform.prefix, spec.name, "backup", limit=64),
        description=f"pg_dump of MCP server {spec.name}'s database to S3",
        schedule_expression=stored.schedule,
        schedule_expression_timezone="UTC",
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
        target=aws.scheduler.ScheduleTargetArgs(
            arn=platform.cluster.arn,
            role_arn=scheduler.arn,
            ecs_parameters=aws.scheduler.ScheduleTargetEcsParametersArgs(
                task_definition_arn=task.arn,
                launch_type="FARGATE",
                task_count=1,
                network_configuration=aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs(
                    subnets=platform.network.private_subnet_ids,
                    security_groups=[stored.group.id],
                    assign_public_ip=False,
                ),
            ),
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*waits, scheduler.policy]),
    )
    _no_success_alarm(spec, platform, family, parent)
    server_drill(spec, platform, url, execution_role, ready, parent)
    return _restore_command(spec, platform, task)


def _no_success_alarm(spec: ServerSpec, platform: AwsPlatform, family: str, parent: pulumi.Resource) -> None:
    """Hourly counts of successful runs; missing hours count as none. Alarm when all of the last
    26 hours had none (also when the schedule never ran a task at all)."""
    rule = aws.cloudwatch.EventRule(
        f"{spec.name}-backup-succeeded",
        name=physical_name(platform.prefix, spec.name, "backup-ok", limit=64),
        description=f"A backup of MCP server {spec.name}'s database succeeded",
        event_pattern=stopped_task_pattern(platform.cluster, f"family:{family}", failed=False),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    alarm(
        f"{spec.name}-backup-missing",
        (platform.prefix, spec.name, "backup-missing"),
        f"No successful backup of {spec.name}'s database for {HOURS_WITHOUT_SUCCESS} hours",
        aws.cloudwatch.MetricAlarmArgs(
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions={"RuleName": rule.name},
            statistic="Sum",
            period=3600,
            evaluation_periods=HOURS_WITHOUT_SUCCESS,
            datapoints_to_alarm=HOURS_WITHOUT_SUCCESS,
            comparison_operator="LessThanThreshold",
            threshold=1,
        ),
        platform.topic,
        parent,
        treat_missing_data="breaching",
    )


def _restore_command(
    spec: ServerSpec, platform: AwsPlatform, task: aws.ecs.TaskDefinition
) -> pulumi.Output[str]:
    """`aws ecs run-task` for `mcp-backup restore <name> latest` in the backup network with the
    read-only restore role. A stack output, so nobody assembles it by hand."""
    stored = platform.backups
    assert stored is not None
    overrides = pulumi.Output.json_dumps(
        {
            "taskRoleArn": stored.restore_role.arn,
            "containerOverrides": [{"name": CONTAINER, "command": ["restore", spec.name, "latest"]}],
        }
    )
    network = pulumi.Output.all(
        subnets=pulumi.Output.all(*platform.network.private_subnet_ids), group=stored.group.id
    ).apply(
        lambda n: (
            "awsvpcConfiguration={subnets=["
            + ",".join(n["subnets"])
            + "],securityGroups=["
            + n["group"]
            + "],assignPublicIp=DISABLED}"
        )
    )
    return pulumi.Output.format(
        "aws ecs run-task --cluster {0} --launch-type FARGATE --task-definition {1} "
        "--network-configuration '{2}' --overrides '{3}'",
        platform.cluster.name,
        task.family,
        network,
        overrides,
    )
