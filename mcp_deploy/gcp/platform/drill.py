"""The restore drill on Cloud Run: the drill job (made beside the backup and restore jobs, with the
restore job's read-only account and the same database-URL secrets) started by Cloud Scheduler a
while after each backup, as the backup job is (job_schedule.py), and alerts on its runs to the
platform's channels, as the backup's (alerts.job_run_alerts).

Cloud SQL users are members of cloudsqlsuperuser, which may create databases: each server's own
URL makes the scratch copy, no admin URL is needed. The result is the job's exit status, which
Cloud Run already publishes as run.googleapis.com/job/completed_execution_count{result}: no
log-based metric to keep in step with the log format, and a run that crashed counts as failed.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.drill_schedule import drill_schedule, stale_after
from mcp_deploy.gcp.platform.alerts import job_run_alerts, missing_window
from mcp_deploy.gcp.platform.job_schedule import run_on_schedule
from mcp_deploy.platform_spec import BackupSpec, GcpSpec


def restore_drill(
    name: str,
    spec: BackupSpec,
    google: GcpSpec,
    job: gcp.cloudrunv2.Job,
    channels: list[pulumi.Output[str]],
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.cloudscheduler.Job:
    schedule = run_on_schedule(
        name,
        "drill",
        job,
        google,
        apis,
        parent,
        cron=drill_schedule(spec.schedule),
        title="restore drill",
        description="Restore drill: each newest dump into a scratch database, checked, dropped",
    )
    stale = stale_after(spec.schedule)
    hours = int(stale.total_seconds()) // 3600
    job_run_alerts(
        f"{name}-drill",
        google,
        job,
        channels,
        parent,
        failed="a restore drill failed",
        missing=f"no successful restore drill for {hours} hours (two backup periods)",
        window=missing_window(stale),
    )
    return schedule
