"""A scheduled Fargate task of the platform's backup image (`mcp-backup`, built from `backup/`) for
one server's database: the dump (aws/server/backup.py) and the restore drill (platform/drill.py)
are both one. Their tasks are the same task with another command: the backup network and security
group, the backup log group, the image's non-root user and scratch space, and the server's
database URL as `PG_URL_<NAME>`. What differs is the command, the task family, the task role (what
the run may do with the bucket), any further secrets, and when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.container import BACKUP_USER, container, scratch_volume, secrets_revision
from mcp_deploy.aws.iam import Role, service_role
from mcp_deploy.aws.secret import StoredSecret
from mcp_deploy.names import physical_name

if TYPE_CHECKING:
    from mcp_deploy.aws.platform import AwsPlatform


def scheduled_backup_task(
    job: str,
    server: str,
    platform: AwsPlatform,
    *,
    family: str,
    command: list[str],
    secrets: dict[str, StoredSecret],
    task_role: Role,
    execution_role: Role,
    schedule: str,
    description: str,
    ready: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> aws.ecs.TaskDefinition:
    """`command` to the image's entrypoint as `job` (its container, and the `<server>-<job>` task
    and schedule), started at `schedule` (EventBridge Scheduler's cron(...)).

    `secrets` maps environment names to secrets. Their order matters: the secrets revision hashes
    the versions in it, so another order is another task definition."""
    stored = platform.backups
    assert stored is not None
    versions = [secret.version for secret in secrets.values()]
    definition = container(
        job,
        stored.image,
        {"BACKUP_URL": stored.url(), "AWS_REGION": platform.region, "TMPDIR": "/tmp"},
        {env: secret.arn for env, secret in secrets.items()},
        stored.log_group,
        platform.region,
        entry_point=["mcp-backup"],
        command=command,
        user=BACKUP_USER,
        revision=secrets_revision(versions),
    )
    waits: list[pulumi.Resource] = [*versions, execution_role.policy, task_role.policy, *ready]
    task = aws.ecs.TaskDefinition(
        f"{server}-{job}",
        family=family,
        cpu="512",
        memory="1024",
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=execution_role.arn,
        task_role_arn=task_role.arn,
        volumes=[scratch_volume()],
        # Dumps are staged under /tmp (written before upload, fetched before a restore or a drill):
        # room for the whole database.
        ephemeral_storage=aws.ecs.TaskDefinitionEphemeralStorageArgs(size_in_gib=stored.ephemeral_gib),
        container_definitions=pulumi.Output.json_dumps([definition]),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits),
    )
    scheduler = service_role(
        f"{server}-{job}-scheduler",
        (platform.prefix, server, f"{job}-scheduler"),
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
                "Resource": [execution_role.arn, task_role.arn],
            },
        ],
        parent,
    )
    aws.scheduler.Schedule(
        f"{server}-{job}",
        name=physical_name(platform.prefix, server, job, limit=64),
        description=description,
        schedule_expression=schedule,
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
    return task
