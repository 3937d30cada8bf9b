"""One JSON object per line on stdout: what CloudWatch, Cloud Logging and kubectl logs parse."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any


def emit(event: str, level: str = "info", **fields: Any) -> None:
    line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "event": event}
    print(json.dumps({**line, **fields}, default=str), file=sys.stdout, flush=True)
