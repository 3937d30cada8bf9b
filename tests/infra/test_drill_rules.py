"""The restore-drill alerts deployed as a PrometheusRule are the ones `promtool test rules` checks:
tests/infra/prometheus/drill/rules.yml is what the code renders, and its unit tests pass."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml

from mcp_deploy.k8s.platform.drill import rule_group
from tests.infra.promtool import check_and_test

RULES = Path(__file__).parent / "prometheus" / "drill"


def test_the_rules_file_is_what_the_platform_deploys() -> None:
    rendered = rule_group("mcp-drill", "mcp", "mcp-drill", "mcp.example.com", timedelta(hours=49))
    assert yaml.safe_load((RULES / "rules.yml").read_text()) == {"groups": [rendered]}


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    check_and_test(RULES)
