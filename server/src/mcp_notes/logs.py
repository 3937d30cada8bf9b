"""JSON logs on stdout: one object per line, as every log pipeline wants them.

The formatter is ours, on orjson: a line is written for every request, so formatting is on
the hot path, and our records need no more than a dict of their fields serialised."""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from typing import Any, TextIO

import orjson

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "color_message"}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
        if record.exc_info:
            fields["exc_info"] = self.formatException(record.exc_info)
        return _line(record.created, record.levelname, record.name, record.getMessage(), fields)


def _line(created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
    """One log line: time, level, logger and message first, then every field that is set."""
    entry: dict[str, Any] = {
        "time": _timestamp(created),
        "level": level,
        "logger": logger,
        "message": message,
    }
    for key, value in fields.items():
        if value is not None:
            entry[key] = value
    return orjson.dumps(entry, default=str).decode()


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    global _second
    whole = int(created)
    if whole != _second[0]:  # one strftime per second, not per line
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int(created % 1 * 1000):03d}Z"


class LineWriter:
    """Writes one logger's lines straight to the stream, in the formatter's shape, without a
    LogRecord: the request line is written for every request, and the logging machinery
    (record, filters, handler lock, format) costs several times the line itself. Falls back to
    `logging` when configure() has not run (an app embedded in another process)."""

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)

    def write(self, level: int, message: str, fields: dict[str, Any]) -> None:
        if not self.logger.isEnabledFor(level):
            return
        if _stream is None:
            self.logger.log(level, message, extra=fields)
            return
        line = _line(time.time(), logging.getLevelName(level), self.logger.name, message, fields)
        _stream.write(line + "\n")
        _flush_soon()


_flush_pending = False


def _flush_soon() -> None:
    """One write to stdout per turn of the event loop, not one per line: under load many
    requests end in the same turn, and each flush is a system call."""
    global _flush_pending
    if _flush_pending or _stream is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _stream.flush()
        return
    _flush_pending = True
    loop.call_soon(_flush)


def _flush() -> None:
    global _flush_pending
    _flush_pending = False
    if _stream is not None:
        _stream.flush()


_stream: TextIO | None = None


def configure(level: str) -> None:
    global _stream
    _stream = _buffered_stdout()
    handler = logging.StreamHandler(_stream)  # flushes at every record, request lines before it
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our request line replaces uvicorn's access log; its error log stays, as JSON.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def _buffered_stdout() -> TextIO:
    """stdout's descriptor behind a buffer of our own. With PYTHONUNBUFFERED=1, as the images
    set it, sys.stdout writes every line with a system call of its own, which would undo the
    one flush per loop turn above. Lines still in the buffer at a crash are lost: at most one
    turn's worth."""
    sys.stdout.flush()
    try:
        stream = open(sys.stdout.fileno(), "w", encoding="utf-8", buffering=1 << 16, closefd=False)  # noqa: SIM115
    except (AttributeError, OSError, ValueError):  # stdout replaced by an object without one
        return sys.stdout
    atexit.register(stream.flush)
    return stream
