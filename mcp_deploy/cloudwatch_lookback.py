"""How far back a CloudWatch alarm can look, and the backup schedules whose alarms fit in it.

Outside mcp_deploy/aws (whose package loads the AWS SDK), like fargate.py: the stack config
checks `backupSchedule` with it before any target code loads.
"""

from __future__ import annotations

from mcp_deploy.drill_schedule import backup_missing_after, whole_hours

# An alarm on periods of an hour or more evaluates at most 7 days of them.
MOST_HOURS = 7 * 24


def backup_missing_hours(backup_cron: str) -> int:
    """Hourly periods without a successful dump before the backup's alarm: one backup period and
    its slack, and one more hour, as a success counts in whichever hour it lands (daily: 26)."""
    return whole_hours(backup_missing_after(backup_cron)) + 1


def lookback_problem(backup_cron: str) -> str | None:
    """Why the alarms cannot watch this schedule, or None. Past 7 days a missed backup cannot be
    told from the gap the schedule leaves anyway (weekly: every 168-hour window holds one run at
    most, so a run an hour later than the last would page)."""
    hours = backup_missing_hours(backup_cron)
    if hours <= MOST_HOURS:
        return None
    return (
        f"its longest gap between runs needs an alarm over {hours} hours, and CloudWatch alarms look "
        f"back {MOST_HOURS} at most: run it at least every {MOST_HOURS - 2} hours (e.g. 0 3 * * 0,3)"
    )
