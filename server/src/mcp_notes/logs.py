"""JSON logs on stdout: one object per line, as every log pipeline wants them."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


class _DropColour(logging.Filter):
    """uvicorn adds an ANSI-coloured copy of each message; JSON logs want one plain copy."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_DropColour())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our request line replaces uvicorn's access log; its error log stays, as JSON.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
