"""mcp-bridge: the entry point (the commands are in cli.py).

The collector is paused before anything heavy is imported: see mcp_notes/heap.py."""

from __future__ import annotations

import sys

from mcp_notes import heap


def main(argv: list[str] | None = None) -> int:
    heap.pause()
    from mcp_bridge.cli import main as run  # after the pause: importing is most of start-up

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
