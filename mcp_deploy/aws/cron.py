"""Unix cron (5 fields, Sunday = 0) to EventBridge Scheduler's cron(...) (6 fields, Sunday = 1,
and exactly one of day-of-month and day-of-week must be `?`)."""

from __future__ import annotations

import re


class CronNotSupported(ValueError):
    pass


def eventbridge_cron(expression: str) -> str:
    minute, hour, day_of_month, month, day_of_week = expression.split()
    if day_of_week == "*":
        day_of_week = "?"
    elif day_of_month == "*":
        day_of_month = "?"
    else:
        raise CronNotSupported(
            f"{expression}: EventBridge cannot match both a day of the month and a day of the week"
        )
    if day_of_week != "?":
        day_of_week = re.sub(r"\d+", lambda m: str(int(m.group()) % 7 + 1), day_of_week)
    return f"cron({minute} {hour} {day_of_month} {month} {day_of_week} *)"
