"""Alarms on a scheduled ECS task's runs, shared by the backup and the restore drill.

A run's result is its task's exit status, seen as ECS task state-change events that EventBridge
rules count (AWS/Events MatchedEvents): no PutMetricData call (nor a route to the CloudWatch API)
from the private subnets, and a task that never started or was killed counts too.

`name` and `name_parts` name the job (`notes-drill`, `(platform, "notes", "drill")`); its rules and
alarms add `-failed`, `-ok` and `-missing` to them.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.alarm import alarm
from mcp_deploy.names import physical_name

RULE_NAME_LIMIT = 64


def stopped_task_pattern(
    cluster: aws.ecs.Cluster, group: dict[str, str] | str, failed: bool
) -> pulumi.Output[str]:
    """ECS task state changes of stopped tasks (`group` is family:<name> or a prefix match), that
    failed (a non-zero exit, or never started) or succeeded (exit 0)."""
    outcome: dict[str, object] = (
        {
            "$or": [
                {"containers": {"exitCode": [{"anything-but": 0}]}},
                {"stopCode": ["TaskFailedToStart"]},
            ]
        }
        if failed
        else {"containers": {"exitCode": [0]}}
    )
    return pulumi.Output.json_dumps(
        {
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {"clusterArn": [cluster.arn], "lastStatus": ["STOPPED"], "group": [group], **outcome},
        }
    )


def failed_run_alarm(
    name: str,
    name_parts: tuple[str, ...],
    cluster: aws.ecs.Cluster,
    group: dict[str, str] | str,
    topic: aws.sns.Topic,
    parent: pulumi.Resource,
    *,
    rule_description: str,
    alarm_description: str,
) -> None:
    """Any run that stops with a non-zero exit or fails to start, within five minutes."""
    failed = stopped_task_pattern(cluster, group, failed=True)
    rule = _rule(f"{name}-failed", (*name_parts, "failed"), rule_description, failed, parent)
    alarm(
        f"{name}-failed",
        (*name_parts, "failed"),
        alarm_description,
        _matched_events(rule, period=300, periods=1, comparison="GreaterThanOrEqualToThreshold"),
        topic,
        parent,
    )


def no_success_alarm(
    name: str,
    name_parts: tuple[str, ...],
    cluster: aws.ecs.Cluster,
    group: str,
    hours: int,
    topic: aws.sns.Topic,
    parent: pulumi.Resource,
    *,
    rule_description: str,
    alarm_description: str,
) -> None:
    """Hourly counts of successful runs; missing hours count as none. Alarms when all of the last
    `hours` had none (also when the schedule never ran a task at all)."""
    succeeded = stopped_task_pattern(cluster, group, failed=False)
    # The dashboard finds the backup's rule by this name (aws/platform/dashboard.py).
    rule = _rule(f"{name}-succeeded", (*name_parts, "ok"), rule_description, succeeded, parent)
    alarm(
        f"{name}-missing",
        (*name_parts, "missing"),
        alarm_description,
        _matched_events(rule, period=3600, periods=hours, comparison="LessThanThreshold", datapoints=hours),
        topic,
        parent,
        treat_missing_data="breaching",
    )


def _rule(
    name: str,
    name_parts: tuple[str, ...],
    description: str,
    pattern: pulumi.Output[str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.EventRule:
    return aws.cloudwatch.EventRule(
        name,
        name=physical_name(*name_parts, limit=RULE_NAME_LIMIT),
        description=description,
        event_pattern=pattern,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _matched_events(
    rule: aws.cloudwatch.EventRule,
    *,
    period: int,
    periods: int,
    comparison: str,
    datapoints: int | None = None,
) -> aws.cloudwatch.MetricAlarmArgs:
    """The events `rule` matched per `period` seconds, compared with one over `periods` periods."""
    return aws.cloudwatch.MetricAlarmArgs(
        namespace="AWS/Events",
        metric_name="MatchedEvents",
        dimensions={"RuleName": rule.name},
        statistic="Sum",
        period=period,
        evaluation_periods=periods,
        datapoints_to_alarm=datapoints,
        comparison_operator=comparison,
        threshold=1,
    )
