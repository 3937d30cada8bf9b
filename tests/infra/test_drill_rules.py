"""The restore-drill alerts deployed as a PrometheusRule are the ones `promtool test rules` checks:
tests/infra/prometheus/drill/rules.yml is what the code renders, and its unit tests pass."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from mcp_deploy.k8s.platform.drill import rule_group

RULES = Path(__file__).parent / "prometheus" / "drill"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is missing: apt-get install prometheus (Debian's package ships it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def test_the_rules_file_is_what_the_platform_deploys() -> None:
    rendered = rule_group("mcp-drill", "mcp", "mcp-drill", "mcp.example.com", timedelta(hours=49))
    assert yaml.safe_load((RULES / "rules.yml").read_text()) == {"groups": [rendered]}


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    tool = promtool()
    for argv in ([tool, "check", "rules", "rules.yml"], [tool, "test", "rules", "tests.yml"]):
        done = subprocess.run(argv, cwd=RULES, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout
