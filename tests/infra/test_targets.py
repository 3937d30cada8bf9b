"""The target registry: one key picks the component, and an unbuilt target says so plainly."""

import pytest

from mcp_deploy.config import Target
from mcp_deploy.targets import BUILT, OUTPUT_NAMES, PLANNED, McpService, TargetNotImplementedError
from tests.harness.program import run_program

TARGETS: tuple[Target, ...] = ("aws-ecs", "gcp-cloudrun", "kubernetes")


def test_every_target_is_either_built_or_tracked_by_an_issue() -> None:
    assert set(BUILT) | set(PLANNED) == set(TARGETS)
    assert not set(BUILT) & set(PLANNED), "a built target must leave PLANNED"


def test_the_output_contract_is_what_the_protocol_declares() -> None:
    assert set(OUTPUT_NAMES) == set(McpService.__annotations__)
    assert {"url", "mcp_endpoint", "image", "database", "cache", "backup_bucket"} <= set(OUTPUT_NAMES)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_an_unbuilt_target_stops_before_registering_anything(
    stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every target is built now; un-build one to keep this promise tested for the next one.
    monkeypatch.delitem(BUILT, "kubernetes")
    monkeypatch.setitem(PLANNED, "kubernetes", "issue #99: a future target")
    run = run_program(stack, "kubernetes")
    assert isinstance(run.error, TargetNotImplementedError)
    assert "target kubernetes is not implemented yet (issue #99: a future target)" in str(run.error)
    assert run.resources == []
    assert run.outputs == {}


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("target", TARGETS)  # all, so a target moved back to PLANNED fails here
def test_a_built_target_exports_the_whole_contract(stack: str, target: Target) -> None:
    run = run_program(stack, target)
    assert run.error is None, run.error
    assert set(OUTPUT_NAMES) <= set(run.outputs)
    assert run.outputs["mcp_endpoint"].endswith("/mcp")
    empty = {name for name in OUTPUT_NAMES if run.outputs[name] in ("", None)}
    # only a kubernetes stack without k8sBackupUrl (dev) has no bucket to name
    assert empty == ({"backup_bucket"} if (stack, target) == ("dev", "kubernetes") else set())
