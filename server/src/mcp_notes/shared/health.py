"""Whether a dependency answers, as last seen: one log line and one counted change per
transition, never one per request, so an outage reads as two lines, not thousands."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


def describe(error: BaseException) -> str:
    """Why, in one short line: the type, and the message when there is one."""
    text = str(error)
    return f"{type(error).__name__}: {text}"[:200] if text else type(error).__name__


class DependencyHealth:
    def __init__(self, name: str) -> None:
        self.name = name
        self.up = True
        self.reason = ""  # why it is down, for /ready and the log
        self.changes = 0  # transitions so far, for a counter metric
        self.since = time.time()

    def down(self, reason: str) -> bool:
        """True when this call took it down (the caller then starts whatever brings it back)."""
        if not self.up:
            return False
        self.up, self.reason, self.since = False, reason, time.time()
        self.changes += 1
        log.warning(
            "%s is unavailable (%s)", self.name, reason, extra={"dependency": self.name, "state": "down"}
        )
        return True

    def back_up(self) -> None:
        if self.up:
            return
        outage = time.time() - self.since
        self.up, self.reason, self.since = True, "", time.time()
        self.changes += 1
        log.info(
            "%s is available again after %.1f s",
            self.name,
            outage,
            extra={"dependency": self.name, "state": "up", "outage_seconds": round(outage, 3)},
        )
