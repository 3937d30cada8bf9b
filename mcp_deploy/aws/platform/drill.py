"""The restore drill on aws-ecs, per server like its backup (aws/server/backup.py): a scheduled task
of the backup image (platform/backup_task.py) running `mcp-backup drill --all` a while after the
backup, with the read-only restore role, and alarms to the platform's topic when a drill fails or
none succeeded for two backup periods.

The server's own role may not create databases, so the task also gets the instance's admin URL
as `PG_DRILL_URL` (the secret each server task's provisioning step already reads, through the same
execution role): the scratch copy is made, checked and dropped with it; the server's database is
never opened.

The result is the task's exit status, counted like the backup's (aws/scheduled_task_alarms.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.cron import eventbridge_cron
from mcp_deploy.aws.iam import Role
from mcp_deploy.aws.platform.backup_task import scheduled_backup_task
from mcp_deploy.aws.scheduled_task_alarms import failed_run_alarm, no_success_alarm
from mcp_deploy.aws.secret import StoredSecret
from mcp_deploy.backup_contract import database_url_env
from mcp_deploy.cloudwatch_lookback import MOST_HOURS
from mcp_deploy.drill_schedule import drill_schedule, stale_after, whole_hours
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec

if TYPE_CHECKING:
    from mcp_deploy.aws.platform import AwsPlatform

CONTAINER = "drill"


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
    task = scheduled_backup_task(
        CONTAINER,
        spec.name,
        platform,
        family=family,
        command=["drill", "--all"],
        secrets={database_url_env(spec.name): url, "PG_DRILL_URL": postgres.admin_url},
        task_role=stored.restore_role,  # lists and reads dumps, writes nothing
        execution_role=execution_role,
        schedule=eventbridge_cron(drill_schedule(platform.spec.backup.schedule)),
        description=f"Restore drill of MCP server {spec.name}'s newest dump into a scratch database",
        ready=ready,
        parent=parent,
    )
    _alarms(spec, platform, family, parent)
    return task


def missing_hours(backup_cron: str) -> int:
    """Two backup periods and an hour, cut to what CloudWatch looks back (still more than one
    period and its slack: config keeps schedules within that, aws/lookback.py)."""
    return min(MOST_HOURS, whole_hours(stale_after(backup_cron)))


def _alarms(spec: ServerSpec, platform: AwsPlatform, family: str, parent: pulumi.Resource) -> None:
    job, parts = f"{spec.name}-drill", (platform.prefix, spec.name, "drill")
    runs = f"family:{family}"
    failed_run_alarm(
        job,
        parts,
        platform.cluster,
        runs,
        platform.topic,
        parent,
        rule_description=f"A restore drill of MCP server {spec.name}'s database failed",
        alarm_description=f"A restore drill of {spec.name}'s newest dump failed (its log line says why)",
    )
    hours = missing_hours(platform.spec.backup.schedule)
    no_success_alarm(
        job,
        parts,
        platform.cluster,
        runs,
        hours,
        platform.topic,
        parent,
        rule_description=f"A restore drill of MCP server {spec.name}'s database succeeded",
        alarm_description=f"No successful restore drill of {spec.name}'s database for {hours} hours"
        + (" (two backup periods)" if hours < MOST_HOURS else " (CloudWatch's longest look-back)"),
    )
