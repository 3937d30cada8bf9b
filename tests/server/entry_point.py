"""Whether a service's entry point (`python -m <package>`, the console script) pauses the
collector before it imports the service's app: see mcp_notes/heap.py. Shared by the server's,
the gateway's and the bridge's tests, each run with its own venv's Python."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import contextlib, gc, importlib.abc, sys
    entry, app = sys.argv[1], sys.argv[2]
    seen = []

    class Spy(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == app:
                seen.append(gc.isenabled())

    sys.meta_path.insert(0, Spy())
    main = __import__(entry, fromlist=["main"]).main
    assert app not in sys.modules, "imported with the entry point, before any pause"
    with contextlib.redirect_stdout(None), contextlib.redirect_stderr(None), contextlib.suppress(SystemExit):
        main(["--help"])
    print(seen)
    """
)


def collector_when_the_app_is_imported(entry: str, app: str) -> str:
    """What gc.isenabled() said as `app` was imported by `entry.main(["--help"])`: "[False]"
    when the entry point pauses first."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, entry, app], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
