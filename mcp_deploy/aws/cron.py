"""Unix cron (5 fields, Sunday = 0 or 7) to EventBridge Scheduler's cron(...) (6 fields, Sunday = 1
... Saturday = 7, and exactly one of day-of-month and day-of-week must be `?`).

Only the day-of-week field differs. Rewriting its digits in place is wrong (a step `*/2` is a
count, not a day; `5-7` would become `6-1`, a range EventBridge cannot wrap), so the field is
expanded to the set of days it names and written again in EventBridge's numbering.
"""

from __future__ import annotations

import re

NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_VALUE = r"(?:\d+|[A-Za-z]{3})"
_ITEM = re.compile(rf"^(\*|{_VALUE})(?:-({_VALUE}))?(?:/(\d+))?$")


class CronNotSupported(ValueError):
    pass


def eventbridge_cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5:
        raise CronNotSupported(f"{expression}: a cron expression has 5 fields")
    minute, hour, day_of_month, month, day_of_week = fields
    if day_of_week == "*":
        day_of_week = "?"
    elif day_of_month == "*":
        day_of_month = "?"
        day_of_week = eventbridge_days(expression, day_of_week)
    else:
        raise CronNotSupported(
            f"{expression}: EventBridge cannot match both a day of the month and a day of the week"
        )
    return f"cron({minute} {hour} {day_of_month} {month} {day_of_week} *)"


def eventbridge_days(expression: str, field: str) -> str:
    """A unix day-of-week field as EventBridge's: the same days, numbered 1 (SUN) to 7 (SAT)."""
    if re.fullmatch(r"\*(/\d+)?", field):
        return field  # every n-th day from Sunday: the first day is Sunday in both numberings
    days: set[int] = set()
    for item in field.split(","):
        match = _ITEM.match(item)
        if match is None or match.group(1) == "*":
            raise CronNotSupported(f"{expression}: day of the week {item!r} is not a day, range or step")
        first = _day(expression, match.group(1))
        last = _day(expression, match.group(2)) if match.group(2) else (6 if match.group(3) else first)
        if last < first:
            raise CronNotSupported(f"{expression}: day-of-week range {item} runs backwards")
        days |= {day % 7 for day in range(first, last + 1, int(match.group(3) or 1))}
    return _runs(sorted(day + 1 for day in days))


def _day(expression: str, value: str) -> int:
    if value.isdigit():
        if not 0 <= int(value) <= 7:
            raise CronNotSupported(f"{expression}: day of the week {value} is not 0-7")
        return int(value)
    if value.upper() not in NAMES:
        raise CronNotSupported(f"{expression}: day of the week {value!r} is not SUN-SAT")
    return NAMES.index(value.upper())


def _runs(days: list[int]) -> str:
    """[1, 6, 7] -> "1,6-7": consecutive days as ranges, in a list."""
    parts: list[str] = []
    start = previous = days[0]
    for day in [*days[1:], None]:
        if day is not None and day == previous + 1:
            previous = day
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if day is not None:
            start = previous = day
    return ",".join(parts)
