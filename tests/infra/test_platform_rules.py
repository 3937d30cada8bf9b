"""The platform's alerts on kubernetes (Postgres, Redis, the backup CronJob) deployed as a
PrometheusRule are the ones `promtool test rules` checks: tests/infra/prometheus/platform/rules.yml
is what the code renders, and its unit tests pass."""

from __future__ import annotations

from pathlib import Path

import yaml

from mcp_deploy.k8s.platform.monitoring import alert_rules
from tests.infra.promtool import check_and_test

RULES = Path(__file__).parent / "prometheus" / "platform"


def test_the_rules_file_is_what_the_platform_deploys() -> None:
    daily = "0 3 * * *"
    rendered = alert_rules("mcp", "mcp.example.com", "mcp", "mcp-postgres", "mcp-redis", "mcp-backup", daily)
    assert yaml.safe_load((RULES / "rules.yml").read_text()) == {"groups": [rendered]}


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    check_and_test(RULES)
