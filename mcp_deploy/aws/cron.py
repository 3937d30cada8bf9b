"""Unix cron (5 fields, Sunday = 0 or 7) to EventBridge Scheduler's cron(...) (6 fields, Sunday = 1
... Saturday = 7, and exactly one of day-of-month and day-of-week must be `?`).

The result uses only what EventBridge's "Cron expressions reference" lists for each field: values,
`,` lists, `-` ranges and `*` everywhere; `/` in every field but the day of the week, and only as
`start/increment` (its one documented form); `L` (the last day) in the day of the month. Unix
forms outside that are written as the same times:

- Day of the week: EventBridge numbers days differently and takes no `/`. Rewriting digits in
  place is wrong (`5-7` would become `6-1`, a range EventBridge cannot wrap; a step `*/2` is a
  count, not a day), so the field is expanded to the set of days it names, steps included
  (`*/2` -> SUN, TUE, THU, SAT -> `1,3,5,7`), and written again in EventBridge's numbering.
- Other fields: `*/n` is `first/n` (every n-th value from the field's first, as in unix cron);
  a step over a range (`0-30/5`) and a range that wraps (croniter's `22-2`) become the list of
  the values they name; month names are written in capitals.
"""

from __future__ import annotations

import re

NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_VALUE = r"(?:\d+|[A-Za-z]{3})"
_ITEM = re.compile(rf"^(\*|{_VALUE})(?:-({_VALUE}))?(?:/(\d+))?$")


class CronNotSupported(ValueError):
    pass


def eventbridge_cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5:
        raise CronNotSupported(f"{expression}: a cron expression has 5 fields")
    minute, hour, day_of_month, month, day_of_week = (
        "*" if field == "?" else field for field in fields
    )  # croniter takes `?` for `*`; EventBridge's `?` is placed below
    minute = _field(expression, minute, "minute", 0, 59)
    hour = _field(expression, hour, "hour", 0, 23)
    month = _field(expression, month, "month", 1, 12, MONTHS)
    if day_of_week == "*":
        day_of_month = _day_of_month(expression, day_of_month)
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
    days: set[int] = set()
    for item in field.split(","):
        match = _ITEM.match(item)
        if match is None or (match.group(1) == "*" and match.group(2)):
            raise CronNotSupported(f"{expression}: day of the week {item!r} is not a day, range or step")
        if match.group(1) == "*":
            first, last = 0, 6
        else:
            first = _day(expression, match.group(1))
            last = _day(expression, match.group(2)) if match.group(2) else (6 if match.group(3) else first)
        if last < first:
            raise CronNotSupported(f"{expression}: day-of-week range {item} runs backwards")
        days |= {day % 7 for day in range(first, last + 1, _step(expression, match.group(3)))}
    return _runs(sorted(day + 1 for day in days))


def _day_of_month(expression: str, field: str) -> str:
    """The last day of the month (croniter's `L`) as EventBridge writes it, or days as _field."""
    if field.upper() == "L":
        return "L"
    if "L" in field.upper().split(","):
        raise CronNotSupported(f"{expression}: on EventBridge, L (the last day) stands alone")
    return _field(expression, field, "day of the month", 1, 31)


def _field(expression: str, field: str, what: str, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """A minute, hour, day-of-month or month field in the forms EventBridge documents."""
    if field == "*":
        return field
    written: list[str] = []
    values: set[int] = set()  # what steps over ranges and wrapping ranges name, written as a list
    for item in field.split(","):
        match = _ITEM.match(item)
        if match is None or (match.group(1) == "*" and match.group(2)):
            raise CronNotSupported(f"{expression}: {what} {item!r} is not a value, range or step")
        start, end, step = match.groups()
        if start == "*":
            written.append("*" if step is None else f"{low}/{_step(expression, step)}")
            continue
        first = _value(expression, start, what, low, high, names)
        if end is None:  # a value, or start/increment: as EventBridge documents them
            written.append(item.upper() if step is None else f"{first}/{_step(expression, step)}")
            continue
        last = _value(expression, end, what, low, high, names)
        if step is None and first <= last:
            written.append(item.upper())
            continue
        span = (
            list(range(first, last + 1))
            if first <= last
            else [*range(first, high + 1), *range(low, last + 1)]
        )
        values |= set(span[:: _step(expression, step)])
    if values:
        written.append(_runs(sorted(values)))
    return ",".join(written)


def _value(expression: str, value: str, what: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if value.isdigit() and low <= int(value) <= high:
        return int(value)
    if value.upper() in names:
        return names.index(value.upper()) + low
    raise CronNotSupported(f"{expression}: {what} {value!r} is not {low}-{high}")


def _step(expression: str, step: str | None) -> int:
    if step is not None and int(step) == 0:
        raise CronNotSupported(f"{expression}: a step of 0")
    return int(step or 1)


def _day(expression: str, value: str) -> int:
    if value.isdigit():
        if not 0 <= int(value) <= 7:
            raise CronNotSupported(f"{expression}: day of the week {value} is not 0-7")
        return int(value)
    if value.upper() not in NAMES:
        raise CronNotSupported(f"{expression}: day of the week {value!r} is not SUN-SAT")
    return NAMES.index(value.upper())


def _runs(values: list[int]) -> str:
    """[1, 6, 7] -> "1,6-7": consecutive values as ranges, in a list."""
    parts: list[str] = []
    start = previous = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(parts)
