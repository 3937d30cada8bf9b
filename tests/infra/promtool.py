"""promtool (Debian's `prometheus` package) for the alert-rule tests: found, or a skip locally and
a failure under CI=true; and a directory's rules checked and unit-tested."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is missing: apt-get install prometheus (Debian's package ships it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def check_and_test(directory: Path) -> None:
    """`promtool check rules rules.yml` and `promtool test rules tests.yml` in `directory`."""
    tool = promtool()
    for argv in ([tool, "check", "rules", "rules.yml"], [tool, "test", "rules", "tests.yml"]):
        done = subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout
