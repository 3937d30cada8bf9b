"""Cloud Monitoring alert policies on the shared parts (Cloud SQL CPU and disk, Redis memory,
backup runs; restore-drill runs from drill.py), to the platform's email channel; servers add their
own (server/alerts.py)."""

from __future__ import annotations

from datetime import timedelta

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.drill_schedule import backup_missing_after, whole_hours
from mcp_deploy.platform_spec import GcpSpec

Threshold = gcp.monitoring.AlertPolicyConditionConditionThresholdArgs
Aggregation = gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs
# The longest alignment period an alert condition takes (90000 s); a longer window adds the rest
# as the time the condition must hold (no success in 25 h, for another 24 h: none in 49 h).
MAX_ALIGNMENT = timedelta(hours=25)
# The shortest time a "no success" condition must hold: one that treats missing data as a breach
# must have a non-zero duration, or the Monitoring API refuses the policy ("Conditions setting
# evaluation_missing_data must have a non-zero duration").
MIN_HOLD = timedelta(hours=1)


def channel(
    name: str, email: str | None, google: GcpSpec, apis: list[gcp.projects.Service], parent: pulumi.Resource
) -> list[pulumi.Output[str]]:
    if email is None:
        return []
    found = gcp.monitoring.NotificationChannel(
        f"{name}-email",
        project=google.project,
        type="email",
        display_name="mcp-deploy on-call",
        labels={"email_address": email},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    return [found.id]


def alert_policy(
    name: str,
    title: str,
    google: GcpSpec,
    channels: list[pulumi.Output[str]],
    condition: Threshold,
    parent: pulumi.Resource,
) -> gcp.monitoring.AlertPolicy:
    return gcp.monitoring.AlertPolicy(
        name,
        project=google.project,
        display_name=f"mcp-deploy: {title}",
        combiner="OR",
        notification_channels=channels,
        conditions=[
            gcp.monitoring.AlertPolicyConditionArgs(display_name=title, condition_threshold=condition)
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )


def align(aligner: str, reducer: str | None = None, period: str = "300s") -> list[Aggregation]:
    return [Aggregation(alignment_period=period, per_series_aligner=aligner, cross_series_reducer=reducer)]


def postgres_alerts(
    name: str,
    google: GcpSpec,
    instance: gcp.sql.DatabaseInstance,
    channels: list[pulumi.Output[str]],
    parent: pulumi.Resource,
) -> None:
    database = pulumi.Output.concat(
        'resource.type="cloudsql_database" AND resource.label.database_id="',
        google.project,
        ":",
        instance.name,
        '"',
    )
    for label, title, metric, aligner, threshold, duration in (
        ("postgres-cpu", "Cloud SQL CPU above 80%", "cpu/utilization", "ALIGN_MEAN", 0.8, "900s"),
        ("postgres-disk", "Cloud SQL disk above 90%", "disk/utilization", "ALIGN_MAX", 0.9, "300s"),
    ):
        alert_policy(
            f"{name}-{label}",
            title,
            google,
            channels,
            Threshold(
                filter=pulumi.Output.concat(
                    database, f' AND metric.type="cloudsql.googleapis.com/database/{metric}"'
                ),
                aggregations=align(aligner),
                comparison="COMPARISON_GT",
                threshold_value=threshold,
                duration=duration,
            ),
            parent,
        )


def redis_alerts(
    name: str,
    google: GcpSpec,
    cache: gcp.redis.Instance,
    channels: list[pulumi.Output[str]],
    parent: pulumi.Resource,
) -> None:
    alert_policy(
        f"{name}-redis-memory",
        "Redis memory above 80%",
        google,
        channels,
        Threshold(
            filter=pulumi.Output.concat(
                'resource.type="redis_instance" AND resource.label.instance_id="',
                cache.id,
                '" AND metric.type="redis.googleapis.com/stats/memory/usage_ratio"',
            ),
            aggregations=align("ALIGN_MAX"),
            comparison="COMPARISON_GT",
            threshold_value=0.8,
            duration="600s",
        ),
        parent,
    )


def backup_alerts(
    name: str,
    schedule: str,
    google: GcpSpec,
    job: gcp.cloudrunv2.Job,
    channels: list[pulumi.Output[str]],
    parent: pulumi.Resource,
) -> None:
    """Failed runs, and no success within one period of `schedule` and an hour (daily: aligned
    over 24 h, held for 1 h)."""
    stale = backup_missing_after(schedule)
    hours = whole_hours(stale)
    job_run_alerts(
        f"{name}-backup",
        google,
        job,
        channels,
        parent,
        failed="a backup run failed",
        missing=f"no successful backup for {hours} hours (one backup period and an hour)",
        window=missing_window(stale),
    )


def job_run_alerts(
    name: str,
    google: GcpSpec,
    job: gcp.cloudrunv2.Job,
    channels: list[pulumi.Output[str]],
    parent: pulumi.Resource,
    *,
    failed: str,
    missing: str,
    window: tuple[str, str],
) -> None:
    """`{name}-failed`: a run of `job` failed. `{name}-missing`: no run succeeded within `window`
    (from `missing_window`). The second counts successes and treats no data as a breach, so a job
    that never ran alerts too: a metric-absence condition cannot look back a full day (23.5 hours
    at most) and would fire before every nightly run."""
    runs = pulumi.Output.concat(
        'resource.type="cloud_run_job" AND resource.label.job_name="',
        job.name,
        '" AND metric.type="run.googleapis.com/job/completed_execution_count"',
    )
    alert_policy(
        f"{name}-failed",
        failed,
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
    alignment, duration = window
    alert_policy(
        f"{name}-missing",
        missing,
        google,
        channels,
        Threshold(
            filter=pulumi.Output.concat(runs, ' AND metric.label.result="succeeded"'),
            aggregations=align("ALIGN_SUM", "REDUCE_SUM", period=alignment),
            comparison="COMPARISON_LT",
            threshold_value=1,
            duration=duration,
            evaluation_missing_data="EVALUATION_MISSING_DATA_ACTIVE",
        ),
        parent,
    )


def missing_window(stale: timedelta) -> tuple[str, str]:
    """(alignment period, duration) that together look back `stale`, in whole minutes: no success
    summed over the alignment period, for the whole duration, is none within `stale`. The duration
    is at least MIN_HOLD (never zero), the alignment period at most MAX_ALIGNMENT."""
    minutes = stale // timedelta(minutes=1)
    hold = max(minutes - MAX_ALIGNMENT // timedelta(minutes=1), MIN_HOLD // timedelta(minutes=1))
    alignment = minutes - hold
    if alignment < 1:
        raise ValueError(f"a window of {stale} leaves no alignment period beside {MIN_HOLD} held")
    return f"{alignment * 60}s", f"{hold * 60}s"
