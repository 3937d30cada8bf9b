""" "No successful backup" alerts from the backup's own schedule, on every target: one backup
period and its slack, not a fixed day. A fixed day alerted every day of a weekly schedule and
waited four missed runs of a six-hourly one."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from mcp_deploy.cloudwatch_lookback import MOST_HOURS, backup_missing_hours, lookback_problem
from mcp_deploy.config_errors import ConfigError
from mcp_deploy.drill_schedule import backup_missing_after
from mcp_deploy.platform_spec import PlatformArgsError
from tests.harness.library import run_aws_platform
from tests.harness.program import run_program

# schedule -> the window without a success that alerts (one period + 1 h; AWS counts whole hourly
# periods and adds the hour a success may land in).
WINDOWS = {
    "0 3 * * *": (timedelta(hours=25), 26),
    "0 */6 * * *": (timedelta(hours=7), 8),
    "0 3 * * 1-5": (timedelta(hours=73), 74),  # Friday to Monday
    "0 3 * * 0": (timedelta(hours=169), 170),
}
# CloudWatch alarms look back 7 days at most: a weekly schedule cannot be watched there.
AWS_WATCHABLE = [schedule for schedule, (_, hours) in WINDOWS.items() if hours <= MOST_HOURS]


@pytest.mark.parametrize("schedule", WINDOWS)
def test_the_window_is_one_backup_period_and_the_slack(schedule: str) -> None:
    window, aws_hours = WINDOWS[schedule]
    assert backup_missing_after(schedule) == window
    assert backup_missing_hours(schedule) == aws_hours


@pytest.mark.parametrize("schedule", AWS_WATCHABLE)
def test_aws_alarms_after_that_many_empty_hours(schedule: str) -> None:
    run = run_program("dev", "aws-ecs", overrides={"backupSchedule": schedule})
    alarm = run.named("aws:cloudwatch/metricAlarm:MetricAlarm", "notes-backup-missing").inputs
    hours = WINDOWS[schedule][1]
    assert (alarm["period"], alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (3600, hours, hours)
    assert f"for {hours} hours" in alarm["alarmDescription"]


def test_aws_refuses_a_schedule_its_alarms_cannot_watch_before_any_resource() -> None:
    assert lookback_problem("0 3 * * 1-5") is None
    run = run_program("dev", "aws-ecs", overrides={"backupSchedule": "0 3 * * 0"})
    assert isinstance(run.error, ConfigError), run.error
    assert str(run.error).splitlines()[1:] == [
        '  mcp-deploy:backupSchedule: got "0 3 * * 0"; allowed: on aws-ecs, a schedule its alarms can '
        "watch (its longest gap between runs needs an alarm over 170 hours, and CloudWatch alarms look "
        "back 168 at most: run it at least every 166 hours (e.g. 0 3 * * 0,3))"
    ]
    assert run.resources == []
    # Elsewhere the window is the schedule's own, however long.
    assert run_program("dev", "gcp-cloudrun", overrides={"backupSchedule": "0 3 * * 0"}).error is None


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
    run = run_program("prod", "kubernetes", overrides={"backupSchedule": schedule})
    spec = run.named("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "mcp-alerts").inputs["spec"]
    [rule] = [r for g in spec["groups"] for r in g["rules"] if r["alert"] == "McpBackupMissing"]
    seconds = int(WINDOWS[schedule][0].total_seconds())
    assert re.findall(r"> (\d+)", rule["expr"]) == [str(seconds), str(seconds)], json.dumps(rule)


def _seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def test_a_library_program_with_a_weekly_schedule_stops_before_any_resource(tmp_path: Path) -> None:
    """The Python API, no stack config: AwsPlatform refuses the schedule up front too."""
    run = run_aws_platform(tmp_path, backup={"schedule": "0 3 * * 0"})
    assert isinstance(run.error, PlatformArgsError), run.error
    assert "backup schedule '0 3 * * 0': its longest gap between runs needs an alarm over 170 hours" in str(
        run.error
    )
    assert not [r for r in run.resources if r.custom]
