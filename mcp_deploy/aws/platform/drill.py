"""The restore drill on aws-ecs, per server like its backup (aws/server/backup.py): a Fargate task
running `mcp-backup drill --all` a while after the backup, in the backup network with the read-only
restore role, and alarms to the platform's topic when a drill fails or none succeeded for two
backup periods.

The server's own role may not create databases, so the task also gets the instance's admin URL
as `PG_DRILL_URL` (the secret each server task's provisioning step already reads, through the same
execution role): the scratch copy is made, checked and dropped with it; the server's database is
never opened.

The result is the task's exit status, seen as ECS task state-change events counted by EventBridge
rules (AWS/Events MatchedEvents), like the backup's: no PutMetricData call (nor a route to the
CloudWatch API) from the private subnets, and a task that never started or was killed counts too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.alarm import alarm
from mcp_deploy.aws.container import BACKUP_USER, container, scratch_volume, secrets_revision
from mcp_deploy.aws.cron import eventbridge_cron
from mcp_deploy.aws.iam import Role, service_role
from mcp_deploy.aws.platform.backups import stopped_task_pattern
from mcp_deploy.aws.secret import StoredSecret
from mcp_deploy.drill_schedule import drill_schedule, stale_after
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec

if TYPE_CHECKING:
    from mcp_deploy.aws.platform import AwsPlatform

CONTAINER = "drill"
# CloudWatch evaluates at most 7 days of hourly periods: a longer window is cut to that.
MOST_HOURS = 7 * 24


def server_drill(
    spec: ServerSpec,
    platform: AwsPlatform,
    url: StoredSecret,
    execution_role: Role,
    ready: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> aws.ecs.TaskDefinition:
    stored, postgres = platform.backups, platform.postgres
    assert stored is not None
    assert postgres is not None
    # Not under the backup family prefix: the backup-failed rule matches that prefix.
    family = physical_name(platform.prefix, "drill", spec.name, limit=255)
    job = container(
        CONTAINER,
        stored.image,
        {"BACKUP_URL": stored.url(), "AWS_REGION": platform.region, "TMPDIR": "/tmp"},
        {"PG_URL_" + spec.name.upper().replace("-", "_"): url.arn, "PG_DRILL_URL": postgres.admin_url.arn},
        stored.log_group,
        platform.region,
        entry_point=["mcp-backup"],
        command=["drill", "--all"],
        user=BACKUP_USER,
        revision=secrets_revision([url.version, postgres.admin_url.version]),
    )
    waits: list[pulumi.Resource] = [
        url.version,
        postgres.admin_url.version,
        execution_role.policy,
        stored.restore_role.policy,
        *ready,
    ]
    task = aws.ecs.TaskDefinition(
        f"{spec.name}-drill",
        family=family,
        cpu="512",
        memory="1024",
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=execution_role.arn,
        task_role_arn=stored.restore_role.arn,  # lists and reads dumps, writes nothing
        volumes=[scratch_volume()],
        ephemeral_storage=aws.ecs.TaskDefinitionEphemeralStorageArgs(size_in_gib=stored.ephemeral_gib),
        container_definitions=pulumi.Output.json_dumps([job]),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits),
    )
    scheduler = service_role(
        f"{spec.name}-drill-scheduler",
        (platform.prefix, spec.name, "drill-scheduler"),
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
                "Resource": [execution_role.arn, stored.restore_role.arn],
            },
        ],
        parent,
    )
    aws.scheduler.Schedule(
        f"{spec.name}-drill",
        name=physical_name(platform.prefix, spec.name, "drill", limit=64),
        description=f"Restore drill of MCP server {spec.name}'s newest dump into a scratch database",
        schedule_expression=eventbridge_cron(drill_schedule(platform.spec.backup.schedule)),
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
    _alarms(spec, platform, family, parent)
    return task


def missing_hours(backup_cron: str) -> int:
    return min(MOST_HOURS, -(-int(stale_after(backup_cron).total_seconds()) // 3600))


def _alarms(spec: ServerSpec, platform: AwsPlatform, family: str, parent: pulumi.Resource) -> None:
    failed = aws.cloudwatch.EventRule(
        f"{spec.name}-drill-failed",
        name=physical_name(platform.prefix, spec.name, "drill-failed", limit=64),
        description=f"A restore drill of MCP server {spec.name}'s database failed",
        event_pattern=stopped_task_pattern(platform.cluster, f"family:{family}", failed=True),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    alarm(
        f"{spec.name}-drill-failed",
        (platform.prefix, spec.name, "drill-failed"),
        f"A restore drill of {spec.name}'s newest dump failed (its log line says why)",
        aws.cloudwatch.MetricAlarmArgs(
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions={"RuleName": failed.name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
        ),
        platform.topic,
        parent,
    )
    succeeded = aws.cloudwatch.EventRule(
        f"{spec.name}-drill-succeeded",
        name=physical_name(platform.prefix, spec.name, "drill-ok", limit=64),
        description=f"A restore drill of MCP server {spec.name}'s database succeeded",
        event_pattern=stopped_task_pattern(platform.cluster, f"family:{family}", failed=False),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    hours = missing_hours(platform.spec.backup.schedule)
    alarm(
        f"{spec.name}-drill-missing",
        (platform.prefix, spec.name, "drill-missing"),
        f"No successful restore drill of {spec.name}'s database for {hours} hours (two backup periods)",
        aws.cloudwatch.MetricAlarmArgs(
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions={"RuleName": succeeded.name},
            statistic="Sum",
            period=3600,
            evaluation_periods=hours,
            datapoints_to_alarm=hours,
            comparison_operator="LessThanThreshold",
            threshold=1,
        ),
        platform.topic,
        parent,
        treat_missing_data="breaching",
    )
