"""The collector around start-up (mcp_notes/heap.py): paused while importing, and once uvicorn
serves, the start-up heap frozen out of collections and collecting on. Each check runs in a
process of its own: freezing the test runner's heap would change every other test."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from mcp_notes.heap import YOUNG_THRESHOLD
from tests.server.entry_point import collector_when_the_app_is_imported

# DrainingServer, as `serve` runs it, on a port of its own, started and stopped in-process.
SERVE_ONCE = textwrap.dedent(
    """
    import asyncio, gc, json, sys
    from types import SimpleNamespace
    from mcp_notes import heap
    from mcp_notes.http.drain import Drain
    from mcp_notes.serving import DrainingServer, uvicorn_config

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    settings = SimpleNamespace(host="127.0.0.1", port=0, header_timeout_seconds=5, body_timeout_seconds=5,
                               keepalive_seconds=5, drain_seconds=1, shutdown_delay_seconds=0)
    heap.pause()
    server = DrainingServer(uvicorn_config(app, settings), Drain(), settings)
    before = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}

    async def once():
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        after = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "young": gc.get_threshold()[0]}
        server.should_exit = True
        await serving
        return after

    print(json.dumps({"before": before, "after": asyncio.run(once())}))
    """
)


def test_serving_freezes_the_start_up_heap_and_collects_from_then_on() -> None:
    done = subprocess.run([sys.executable, "-c", SERVE_ONCE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == {"enabled": False, "frozen": 0}, "paused, nothing frozen until it serves"
    after = seen["after"]
    assert after["enabled"], "collections resume once serving: a paused collector leaks every cycle"
    assert after["frozen"] > 10_000, "the imported modules' objects are frozen out of collections"
    assert after["young"] == YOUNG_THRESHOLD


def test_the_entry_point_pauses_collections_before_importing_the_app() -> None:
    """`mcp-notes` and `python -m mcp_notes` both enter through main()."""
    assert collector_when_the_app_is_imported("mcp_notes.__main__", "mcp_notes.app") == "[False]"
