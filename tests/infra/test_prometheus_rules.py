"""`promtool test rules` on the burn-rate rules exactly as a kubernetes plan deploys them.

The dev stack with the Prometheus operator and two servers (notes with the default objectives,
tools with 99.9% and 250 ms) is planned; its PrometheusRules' groups become one rules file beside
the unit tests in tests/infra/prometheus/slo/, which say which alerts fire when (every burn rate,
both indicators, the short window's reset, the long window's hold). promtool is Debian's
`prometheus` package; without it the test skips locally and fails under CI=true.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mcp_deploy.k8s.server.slo import rule_groups, rules_file
from mcp_deploy.slo import Slo
from tests.harness.program import run_program
from tests.infra.promtool import promtool

HERE = Path(__file__).resolve().parent / "prometheus" / "slo"
TESTS = sorted(HERE.glob("*_test.yaml"))
RULES = "slo_rules.json"  # the name the unit tests' rule_files give
SERVERS = {
    "notes": {"build": "server"},
    "tools": {
        "image": "docker.io/acme/tools-mcp:1.4.2",
        "port": 3000,
        "user": 10001,
        "slo": {"availability": 99.9, "latencyP99Ms": 250},
    },
}


@pytest.fixture(scope="module")
def deployed_groups() -> list[dict[str, Any]]:
    run = run_program(
        "dev",
        "kubernetes",
        overrides={"k8sPrometheusOperator": "true", "servers": json.dumps(SERVERS)},
    )
    assert run.error is None, run.error
    rules = [
        r
        for r in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        if r.name.endswith("-slo")
    ]
    assert sorted(r.name for r in rules) == ["notes-slo", "tools-slo"]
    return [group for r in sorted(rules, key=lambda r: r.name) for group in r.inputs["spec"]["groups"]]


def run_promtool(groups: list[dict[str, Any]], where: Path) -> subprocess.CompletedProcess[str]:
    (where / RULES).write_text(rules_file(groups))
    for test in TESTS:
        shutil.copy(test, where / test.name)
    return subprocess.run(
        [promtool(), "test", "rules", *(test.name for test in TESTS)],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deployed_rules_pass_their_unit_tests(
    deployed_groups: list[dict[str, Any]], tmp_path: Path
) -> None:
    assert TESTS, f"no *_test.yaml in {HERE}"
    (tmp_path / RULES).write_text(rules_file(deployed_groups))
    checked = subprocess.run(
        [promtool(), "check", "rules", str(tmp_path / RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr  # syntax and duplicate-series lint
    result = run_promtool(deployed_groups, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_deployed_rules_are_the_rendered_ones(deployed_groups: list[dict[str, Any]]) -> None:
    """What promtool checks is what the module renders for these objectives, and nothing else."""
    scope = ("dev-mcp", "dev-mcp-gateway")
    expected = [
        *rule_groups("notes", Slo(), *scope, "https://mcp-dev.example.com/notes/mcp"),
        *rule_groups("tools", Slo(99.9, 250), *scope, "https://mcp-dev.example.com/tools/mcp"),
    ]
    assert deployed_groups == expected


@pytest.mark.parametrize(
    ("label", "notes"),
    [
        ("a looser availability objective", Slo(availability=99.0)),
        ("another latency bucket", Slo(99.5, 2500)),
    ],
)
def test_the_unit_tests_fail_on_other_objectives(label: str, notes: Slo, tmp_path: Path) -> None:
    """The unit tests bite: rules for other objectives do not pass them."""
    scope = ("dev-mcp", "dev-mcp-gateway")
    groups = [
        *rule_groups("notes", notes, *scope, "https://mcp-dev.example.com/notes/mcp"),
        *rule_groups("tools", Slo(99.9, 250), *scope, "https://mcp-dev.example.com/tools/mcp"),
    ]
    result = run_promtool(groups, tmp_path)
    assert result.returncode != 0, label
    assert "FAILED" in result.stdout + result.stderr
