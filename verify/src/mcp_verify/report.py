"""One verdict per check and route, printed as a table; any FAIL makes the exit status 1."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Verdict(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    # Works, but a client or an operator should know: auth off, a hint header missing.
    WARN = "WARN"
    # Does not apply to this URL (TLS on a loopback http URL).
    NA = "N/A"


@dataclass(frozen=True)
class Result:
    check: str
    route: str  # "-" for checks of the whole URL
    verdict: Verdict
    detail: str


def render(results: Iterable[Result]) -> str:
    rows = [("CHECK", "ROUTE", "VERDICT", "DETAIL")]
    rows += [(r.check, r.route, r.verdict.value, r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def summary(results: list[Result]) -> str:
    counts = {v: sum(1 for r in results if r.verdict is v) for v in Verdict}
    failed = sorted({r.check for r in results if r.verdict is Verdict.FAIL})
    text = ", ".join(f"{counts[v]} {v.value}" for v in Verdict)
    return f"{text}; failed: {', '.join(failed)}" if failed else f"{text}; no failures"


def exit_status(results: list[Result]) -> int:
    return 1 if any(r.verdict is Verdict.FAIL for r in results) else 0
