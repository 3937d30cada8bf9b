"""The server's database in the platform's scheduled dumps: a task running `mcp-backup dump` with
the server's database URL as `PG_URL_<NAME>`, on the platform's schedule, an alarm when no run
succeeded for a backup period and two hours (26 on a daily schedule), and the command that restores
it."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.iam import Role
from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.platform.backup_task import scheduled_backup_task
from mcp_deploy.aws.platform.drill import server_drill
from mcp_deploy.aws.scheduled_task_alarms import no_success_alarm
from mcp_deploy.aws.secret import StoredSecret
from mcp_deploy.backup_contract import database_url_env
from mcp_deploy.cloudwatch_lookback import backup_missing_hours
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec

CONTAINER = "backup"


def backup(
    spec: ServerSpec,
    platform: AwsPlatform,
    url: StoredSecret,
    execution_role: Role,
    ready: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """Registers the task, schedule and alarm, and the server's restore drill; returns the restore
    command."""
    stored = platform.backups
    assert stored is not None
    family = physical_name(stored.family_prefix, spec.name, limit=255, stack="")
    task = scheduled_backup_task(
        CONTAINER,
        spec.name,
        platform,
        family=family,
        command=["dump"],
        secrets={database_url_env(spec.name): url},
        task_role=stored.task_role,
        execution_role=execution_role,
        schedule=stored.schedule,
        description=f"pg_dump of MCP server {spec.name}'s database to S3",
        ready=ready,
        parent=parent,
    )
    # No failure alarm of its own: the platform's backup-failed rule matches every server's dumps.
    hours = backup_missing_hours(platform.spec.backup.schedule)
    no_success_alarm(
        f"{spec.name}-backup",
        (platform.prefix, spec.name, "backup"),
        platform.cluster,
        f"family:{family}",
        hours,
        platform.topic,
        parent,
        rule_description=f"A backup of MCP server {spec.name}'s database succeeded",
        alarm_description=f"No successful backup of {spec.name}'s database for {hours} hours"
        " (one backup period and two hours)",
    )
    server_drill(spec, platform, url, execution_role, ready, parent)
    return _restore_command(spec, platform, task)


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
