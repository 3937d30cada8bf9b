"""A bad environment stops the bridge at start, naming every bad variable (exit status 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bridge.bridges import bridge_env


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_bridge", "serve"], env=env, capture_output=True, text=True, timeout=30
    )


def test_bad_values_are_all_named(tmp_path: Path) -> None:
    env = bridge_env(
        tmp_path,
        "bad",
        8080,
        BRIDGE_COMMAND='["node", ',
        BRIDGE_SESSIONS="sometimes",
        BRIDGE_POOL_SIZE="0",
        BRIDGE_REQUEST_SECONDS="-1",
        BRIDGE_ARGS='"--flag"',
    )
    done = _start(env)
    assert done.returncode == 2
    for key in (
        "BRIDGE_COMMAND",
        "BRIDGE_SESSIONS",
        "BRIDGE_POOL_SIZE",
        "BRIDGE_REQUEST_SECONDS",
        "BRIDGE_ARGS",
    ):
        assert key in done.stderr, (key, done.stderr)
    assert "Traceback" not in done.stderr


def test_no_command_and_no_command_file(tmp_path: Path) -> None:
    done = _start(bridge_env(tmp_path, "none", 8080))
    assert done.returncode == 2
    assert "BRIDGE_COMMAND" in done.stderr
    assert str(tmp_path / "command.json") in done.stderr


def test_pool_larger_than_the_bound(tmp_path: Path) -> None:
    (tmp_path / "command.json").write_text(json.dumps({"package": "x", "command": ["true"]}))
    done = _start(bridge_env(tmp_path, "big", 8080, BRIDGE_POOL_SIZE="5", BRIDGE_MAX_PROCESSES="4"))
    assert done.returncode == 2
    assert "BRIDGE_POOL_SIZE: must not exceed BRIDGE_MAX_PROCESSES" in done.stderr


def test_the_child_gets_the_environment_without_bridge_settings(tmp_path: Path) -> None:
    from mcp_bridge.settings import child_environment

    env = child_environment({"BRIDGE_COMMAND": "[]", "API_KEY": "s3cret", "PATH": "/bin"})
    assert env == {"API_KEY": "s3cret", "PATH": "/bin"}
