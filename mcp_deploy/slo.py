"""Per-server objectives and the burn-rate alerts every target derives from them.

The alerts follow the Google SRE workbook's multi-window, multi-burn-rate scheme: an alert fires
when the error budget burns faster than `factor` times the sustainable rate over both a long window
(enough budget is gone to matter) and a short one (it is still burning, so the alert resets soon
after a fix). Objectives are over 30 days, the period the factors were chosen for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT_AVAILABILITY = 99.5  # percent of requests answered without a 5xx
DEFAULT_LATENCY_P99_MS = 1000  # the 99th percentile of request latency, ms
PERIOD_DAYS = 30
# A p99 objective leaves 1% of requests to be slower than it.
LATENCY_BUDGET = 0.01
# The gateway's latency histogram buckets in ms (mcp_notes.metrics.LATENCY_BUCKETS): a Prometheus
# rule can count requests slower than a bucket bound exactly, and only that. Every target takes
# the objective from this list, so they all measure the same thing.
LATENCY_OBJECTIVES_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)

Severity = Literal["page", "ticket"]


@dataclass(frozen=True)
class BurnRate:
    """Alert when the budget burns `factor` times too fast over both windows (seconds)."""

    severity: Severity
    long_seconds: int
    short_seconds: int
    factor: float

    @property
    def label(self) -> str:
        """`1h`, `6h`, `1d`, `3d`: the long window names the alert."""
        return duration(self.long_seconds)

    @property
    def budget_spent(self) -> float:
        """Share of the period's budget the long window has burnt when the alert fires."""
        return self.factor * self.long_seconds / (PERIOD_DAYS * 86400)


HOUR = 3600
# (severity, long window, short window, factor): 2% of the budget in an hour pages, 5% in six
# hours pages, 10% in a day or in three days opens a ticket.
BURN_RATES = (
    BurnRate("page", HOUR, 5 * 60, 14.4),
    BurnRate("page", 6 * HOUR, 30 * 60, 6.0),
    BurnRate("ticket", 24 * HOUR, 2 * HOUR, 3.0),
    BurnRate("ticket", 72 * HOUR, 6 * HOUR, 1.0),
)
WINDOWS = tuple(sorted({w for rate in BURN_RATES for w in (rate.long_seconds, rate.short_seconds)}))

Indicator = Literal["availability", "latency"]
INDICATORS: tuple[Indicator, ...] = ("availability", "latency")


@dataclass(frozen=True)
class Slo:
    availability: float = DEFAULT_AVAILABILITY
    latency_p99_ms: int = DEFAULT_LATENCY_P99_MS

    def budget(self, indicator: Indicator) -> float:
        """The share of requests that may be bad: 5xx answers, or answers slower than the objective."""
        if indicator == "availability":
            return round(1 - self.availability / 100, 10)
        return LATENCY_BUDGET

    def goal(self, indicator: Indicator) -> float:
        return round(1 - self.budget(indicator), 10)

    def threshold(self, indicator: Indicator, rate: BurnRate) -> float:
        """The bad share of requests over a window that means `rate.factor` times too fast."""
        return round(rate.factor * self.budget(indicator), 10)


def slo_problems(availability: float, latency_p99_ms: int) -> list[str]:
    """What is wrong with an objective a program gave (config validates the same through pydantic)."""
    problems = []
    if not 90 < availability < 100:
        problems.append(f"slo.availability {availability} is not above 90 and below 100 (percent)")
    if latency_p99_ms not in LATENCY_OBJECTIVES_MS:
        problems.append(f"slo.latency_p99_ms {latency_p99_ms} is not one of {_objectives()}")
    return problems


def _objectives() -> str:
    return ", ".join(map(str, LATENCY_OBJECTIVES_MS))


LATENCY_OBJECTIVES_TEXT = _objectives()


def duration(seconds: int) -> str:
    """Seconds as Prometheus writes a duration: 300 -> 5m, 86400 -> 1d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
