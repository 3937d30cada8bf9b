"""The restore drill on Cloud Run: the drill job (made beside the backup and restore jobs, with the
restore job's read-only account and the same database-URL secrets) started by Cloud Scheduler a
while after each backup, and alerts to the platform's channels.

Cloud SQL users are members of cloudsqlsuperuser, which may create databases: each server's own
URL makes the scratch copy, no admin URL is needed. The result is the job's exit status, which
Cloud Run already publishes as run.googleapis.com/job/completed_execution_count{result}: no
log-based metric to keep in step with the log format, and a run that crashed counts as failed.
"""

from __future__ import annotations

from datetime import timedelta

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.drill_schedule import drill_schedule, stale_after
from mcp_deploy.gcp.names import account_id, run_name
from mcp_deploy.gcp.platform.alerts import Threshold, alert_policy, align
from mcp_deploy.platform_spec import BackupSpec, GcpSpec

# The longest alignment period an alert condition takes; a longer window adds the rest as the
# time the condition must hold (no success in 25 h, for another 24 h: none in 49 h).
MAX_ALIGNMENT = timedelta(hours=25)


def restore_drill(
    name: str,
    spec: BackupSpec,
    google: GcpSpec,
    job: gcp.cloudrunv2.Job,
    channels: list[pulumi.Output[str]],
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.cloudscheduler.Job:
    child = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    trigger = gcp.serviceaccount.Account(
        f"{name}-drill-trigger",
        project=google.project,
        account_id=account_id(name, "drill-trigger"),
        display_name="mcp-deploy: starts the restore drill job",
        opts=child,
    )
    invoker = gcp.cloudrunv2.JobIamMember(
        f"{name}-drill-trigger-runs-job",
        project=google.project,
        location=google.region,
        name=job.name,
        role="roles/run.invoker",
        member=pulumi.Output.concat("serviceAccount:", trigger.email),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    schedule = gcp.cloudscheduler.Job(
        f"{name}-drill",
        project=google.project,
        region=google.region,
        name=run_name(name, "drill"),
        description="Restore drill: each newest dump into a scratch database, checked, dropped",
        schedule=drill_schedule(spec.schedule),
        time_zone="Etc/UTC",
        attempt_deadline="1800s",
        retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=3),
        http_target=gcp.cloudscheduler.JobHttpTargetArgs(
            http_method="POST",
            uri=pulumi.Output.concat(
                "https://run.googleapis.com/v2/projects/",
                google.project,
                "/locations/",
                google.region,
                "/jobs/",
                job.name,
                ":run",
            ),
            oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                service_account_email=trigger.email, scope="https://www.googleapis.com/auth/cloud-platform"
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*apis, invoker, job]),
    )
    _alerts(name, google, job, stale_after(spec.schedule), channels, parent)
    return schedule


def missing_window(stale: timedelta) -> tuple[str, str]:
    """(alignment period, duration) that together look back `stale`, in whole minutes."""
    alignment = min(stale, MAX_ALIGNMENT)
    rest = timedelta(minutes=(stale - alignment) // timedelta(minutes=1))
    return f"{int(alignment.total_seconds())}s", f"{int(rest.total_seconds())}s"


def _alerts(
    name: str,
    google: GcpSpec,
    job: gcp.cloudrunv2.Job,
    stale: timedelta,
    channels: list[pulumi.Output[str]],
    parent: pulumi.Resource,
) -> None:
    runs = pulumi.Output.concat(
        'resource.type="cloud_run_job" AND resource.label.job_name="',
        job.name,
        '" AND metric.type="run.googleapis.com/job/completed_execution_count"',
    )
    alert_policy(
        f"{name}-drill-failed",
        "a restore drill failed",
        google,
        channels,
        Threshold(
            filter=pulumi.Output.concat(runs, ' AND metric.label.result="failed"'),
            aggregations=align("ALIGN_SUM", "REDUCE_SUM"),
            comparison="COMPARISON_GT",
            threshold_value=0,
            duration="0s",
        ),
        parent,
    )
    alignment, duration = missing_window(stale)
    hours = int(stale.total_seconds()) // 3600
    alert_policy(
        f"{name}-drill-missing",
        f"no successful restore drill for {hours} hours (two backup periods)",
        google,
        channels,
        Threshold(
            filter=pulumi.Output.concat(runs, ' AND metric.label.result="succeeded"'),
            aggregations=align("ALIGN_SUM", "REDUCE_SUM", period=alignment),
            comparison="COMPARISON_LT",
            threshold_value=1,
            duration=duration,
            # No execution at all is no success: a drill that never ran alerts too.
            evaluation_missing_data="EVALUATION_MISSING_DATA_ACTIVE",
        ),
        parent,
    )
