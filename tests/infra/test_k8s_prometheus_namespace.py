"""kubernetes: Prometheus may run in any namespace (k8sPrometheusNamespace, default monitoring),
and every NetworkPolicy that admits scrapes admits them from that namespace and no other: a
Prometheus outside `monitoring` was silently refused by all of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_deploy.config_errors import ConfigError
from mcp_deploy.platform_spec import PlatformArgsError
from tests.harness.program import ProgramRun, run_program
from tests.infra.test_k8s import FIXTURE

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAME_LABEL = "kubernetes.io/metadata.name"
SCRAPED = ("mcp-gateway", "notes-server", "mcp-postgres")  # prod scrapes these three


def admitted(run: ProgramRun) -> dict[str, set[str]]:
    """Policy -> the namespaces its ingress admits whole (every pod in them)."""
    found: dict[str, set[str]] = {}
    for policy in run.of_type(POLICY):
        rules: list[dict[str, Any]] = policy.inputs["spec"].get("ingress", [])
        found[policy.name] = {
            peer["namespaceSelector"]["matchLabels"][NAME_LABEL]
            for rule in rules
            for peer in rule.get("from", [])
            if "namespaceSelector" in peer and "podSelector" not in peer
        }
    return found


@pytest.mark.parametrize(
    ("overrides", "namespace"),
    [({}, "monitoring"), ({"k8sPrometheusNamespace": "observability"}, "observability")],
)
def test_scrapes_are_admitted_from_prometheus_namespace_only(
    overrides: dict[str, str], namespace: str
) -> None:
    by_policy = admitted(run_program("prod", "kubernetes", overrides=overrides))
    assert all(namespace in by_policy[name] for name in SCRAPED), by_policy
    others = {"monitoring", "observability"} - {namespace}
    assert not any(others & names for names in by_policy.values()), by_policy


def test_a_namespace_that_is_not_a_namespace_name_is_a_config_error() -> None:
    run = run_program("prod", "kubernetes", overrides={"k8sPrometheusNamespace": "Observability"})
    assert isinstance(run.error, ConfigError), run.error
    assert "mcp-deploy:k8sPrometheusNamespace: got Observability" in str(run.error)
    assert run.resources == []


def test_a_library_program_with_a_bad_prometheus_namespace_stops_before_any_resource() -> None:
    run = run_program(
        path=FIXTURE / "Pulumi.one.yaml",
        program=FIXTURE / "__main__.py",
        overrides={"platform": json.dumps({"prometheus_namespace": "Observability"})},
    )
    assert isinstance(run.error, PlatformArgsError), run.error
    assert "k8s.prometheus_namespace 'Observability' is not a namespace name" in str(run.error)
    assert [r for r in run.resources if r.custom] == []
