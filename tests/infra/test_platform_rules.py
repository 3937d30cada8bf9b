"""The platform's alerts on kubernetes (Postgres, Redis, the backup CronJob) deployed as a
PrometheusRule are the ones `promtool test rules` checks: tests/infra/prometheus/platform/rules.yml
is what the code renders, and its unit tests pass."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from mcp_deploy.k8s.platform.monitoring import alert_rules
from tests.infra.test_drill_rules import promtool

RULES = Path(__file__).parent / "prometheus" / "platform"


def test_the_rules_file_is_what_the_platform_deploys() -> None:
    rendered = alert_rules("mcp", "mcp.example.com", "mcp", "mcp-postgres", "mcp-redis", "mcp-backup")
    assert yaml.safe_load((RULES / "rules.yml").read_text()) == {"groups": [rendered]}


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    tool = promtool()
    for argv in ([tool, "check", "rules", "rules.yml"], [tool, "test", "rules", "tests.yml"]):
        done = subprocess.run(argv, cwd=RULES, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout
