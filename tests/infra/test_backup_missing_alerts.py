""" "No successful backup" alerts from the backup's own schedule, on every target: one backup
period and its slack, not a fixed day. A fixed day alerted every day of a weekly schedule and
waited four missed runs of a six-hourly one."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from mcp_deploy.aws.platform.drill import backup_missing_hours
from mcp_deploy.drill_schedule import backup_missing_after
from tests.harness.program import ProgramRun, run_program

# schedule -> the window without a success that alerts (one period + 1 h; AWS counts whole hourly
# periods and adds the hour a success may land in, up to CloudWatch's 7 days).
WINDOWS = {
    "0 3 * * *": (timedelta(hours=25), 26),
    "0 */6 * * *": (timedelta(hours=7), 8),
    "0 3 * * 0": (timedelta(hours=169), 7 * 24),
}


@pytest.mark.parametrize("schedule", WINDOWS)
def test_the_window_is_one_backup_period_and_the_slack(schedule: str) -> None:
    window, aws_hours = WINDOWS[schedule]
    assert backup_missing_after(schedule) == window
    assert backup_missing_hours(schedule) == aws_hours


@pytest.mark.parametrize("schedule", WINDOWS)
def test_aws_alarms_after_that_many_empty_hours(schedule: str) -> None:
    run = run_program("dev", "aws-ecs", overrides={"backupSchedule": schedule})
    alarm = run.named("aws:cloudwatch/metricAlarm:MetricAlarm", "notes-backup-missing").inputs
    hours = WINDOWS[schedule][1]
    assert (alarm["period"], alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (3600, hours, hours)
    assert f"for {hours} hours" in alarm["alarmDescription"]


@pytest.mark.parametrize("schedule", WINDOWS)
def test_gcp_alerts_when_no_success_is_summed_over_the_window(schedule: str) -> None:
    run = run_program("dev", "gcp-cloudrun", overrides={"backupSchedule": schedule})
    policy = run.named("gcp:monitoring/alertPolicy:AlertPolicy", "mcp-backup-missing").inputs
    [condition] = policy["conditions"]
    threshold = condition["conditionThreshold"]
    alignment = _seconds(threshold["aggregations"][0]["alignmentPeriod"])
    assert timedelta(seconds=alignment + _seconds(threshold["duration"])) == WINDOWS[schedule][0]
    hours = WINDOWS[schedule][0] // timedelta(hours=1)
    assert condition["displayName"].startswith(f"no successful backup for {hours} hours")


@pytest.mark.parametrize("schedule", WINDOWS)
def test_kubernetes_alerts_when_the_last_success_is_older_than_the_window(schedule: str) -> None:
    run = _kubernetes(schedule)
    spec = run.named("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "mcp-alerts").inputs["spec"]
    [rule] = [r for g in spec["groups"] for r in g["rules"] if r["alert"] == "McpBackupMissing"]
    seconds = int(WINDOWS[schedule][0].total_seconds())
    assert re.findall(r"> (\d+)", rule["expr"]) == [str(seconds), str(seconds)], json.dumps(rule)


def _kubernetes(schedule: str) -> ProgramRun:
    return run_program("prod", "kubernetes", overrides={"backupSchedule": schedule})


def _seconds(value: str) -> int:
    return int(value.removesuffix("s"))
