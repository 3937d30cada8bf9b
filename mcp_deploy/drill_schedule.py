"""When the restore drill runs, and how long without a good drill or backup is too long, from the
backup's cron.

The drill restores the newest dump, so it runs a fixed delay after each backup: long enough for a
dump of the whole instance to finish. A backup whose hours move past midnight with the delay, on
restricted days, would move the drill to other days: the drill then runs daily instead (drilling
the same newest dump again does no harm; missing a dump's day would).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import croniter

DELAY_HOURS = 2
# Slack on top of two backup periods: the drill's own run time, and the scheduler's retries.
RUN_SLACK = timedelta(hours=1)
# Slack on top of one backup period: a dump that ends later than the one before it.
BACKUP_SLACK = timedelta(hours=1)
# Gaps are measured over this span (long enough to see a monthly schedule's longest month), or
# this many runs for a frequent schedule, whichever comes first.
_HORIZON = timedelta(days=400)
_MOST_RUNS = 3000


def drill_schedule(backup_cron: str, delay_hours: int = DELAY_HOURS) -> str:
    """The backup's 5-field cron moved `delay_hours` later: `0 3 * * *` -> `0 5 * * *`."""
    minute, _hour, day_of_month, month, day_of_week = backup_cron.split()
    hours = croniter.expand(backup_cron)[0][1]
    expanded = list(range(24)) if hours == ["*"] else [int(h) for h in hours]
    moved = sorted({(h + delay_hours) % 24 for h in expanded})
    wraps = any(h + delay_hours >= 24 for h in expanded)
    if wraps and (day_of_month != "*" or day_of_week != "*" or month != "*"):
        day_of_month, month, day_of_week = "*", "*", "*"
    return " ".join((minute, _hours(moved), day_of_month, month, day_of_week))


def backup_period(backup_cron: str) -> timedelta:
    """The longest gap between two backups: what "a backup period" means for a schedule that is
    not evenly spaced (weekdays only, a few hours a day)."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    runs = croniter(backup_cron, start)
    previous = runs.get_next(datetime)
    longest = timedelta(0)
    for _ in range(_MOST_RUNS):
        if previous - start > _HORIZON:
            break
        following = runs.get_next(datetime)
        longest = max(longest, following - previous)
        previous = following
    return longest


def stale_after(backup_cron: str) -> timedelta:
    """No successful drill for this long alerts: two backup periods and the run's own slack."""
    return 2 * backup_period(backup_cron) + RUN_SLACK


def whole_hours(span: timedelta) -> int:
    """`span` in hours, rounded up: alarms count hourly periods, and titles say hours."""
    return -(-span // timedelta(hours=1))


def backup_missing_after(backup_cron: str) -> timedelta:
    """No successful backup for this long alerts: the longest gap the schedule leaves between two
    backups, and the slack. A fixed day would alert every day on a weekly schedule, and only
    after four missed runs on a six-hourly one."""
    return backup_period(backup_cron) + BACKUP_SLACK


def _hours(hours: list[int]) -> str:
    return "*" if len(hours) == 24 else ",".join(str(h) for h in hours)
