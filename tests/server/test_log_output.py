"""Log lines on stdout: complete, in order, and written once per loop turn, not once per line,
also with PYTHONUNBUFFERED=1 (as the images set it), where sys.stdout itself would make every
line a system call of its own. Counted with strace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WRITER = textwrap.dedent(
    """
    import asyncio, logging
    from mcp_notes import logs

    logs.configure("INFO")
    lines = logs.LineWriter("mcp_notes.request")

    async def turns():
        for n in range(50):  # one loop turn: one write
            lines.write(logging.INFO, "request", {"n": n})
        logging.getLogger("mcp_notes").warning("between")  # a record flushes what came before it
        for n in range(50, 60):
            lines.write(logging.INFO, "request", {"n": n})
        await asyncio.sleep(0)  # the next turn
        for n in range(60, 70):
            lines.write(logging.INFO, "request", {"n": n})

    asyncio.run(turns())
    for n in range(70, 72):  # no loop: written at once
        lines.write(logging.INFO, "request", {"n": n})
    """
)


def test_lines_are_written_once_per_loop_turn_in_order(tmp_path: Path) -> None:
    strace = shutil.which("strace")
    if strace is None:
        pytest.fail("strace is missing: `apt-get install strace` (.ci/run installs it)")
    trace = tmp_path / "trace"
    done = subprocess.run(
        [strace, "-f", "-e", "trace=write", "-o", str(trace), sys.executable, "-c", WRITER],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    order = [entry.get("n", entry["message"]) for entry in entries]
    assert order == [*range(50), "between", *range(50, 72)], "every line, in the order written"

    writes = [line for line in trace.read_text().splitlines() if "write(1," in line]
    # 50 lines and the warning; 10 at the end of that turn; 10 in the next; 2 outside a loop.
    assert len(writes) <= 5, f"{len(writes)} writes to stdout for 73 lines:\n" + "\n".join(writes[:10])
