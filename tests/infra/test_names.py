"""Physical names: two stacks in one account/project/cluster, and two servers on one platform,
never ask for the same name; physical_name keeps every name within its provider's limit."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mcp_deploy.names import physical_name
from tests.harness.physical_names import collisions, describe, physical_names
from tests.harness.plan import STACKS, TARGETS
from tests.harness.program import ProgramRun, run_program
from tests.harness.stack_files import ROOT

# One workload per target that always has an explicit name: proof the collection sees the names.
WORKLOAD_NAMES = {
    "aws-ecs": "aws:ecs/service:Service",
    "gcp-cloudrun": "gcp:cloudrunv2/service:Service",
    "kubernetes": "kubernetes:apps/v1:Deployment",
}
# Two stacks that differ only in their name (and domain, which the user chooses per stack).
TWIN_SOURCE = "multi"


def twin_stacks(tmp_path: Path, target: str) -> tuple[ProgramRun, ProgramRun]:
    runs = []
    for stack in ("alpha", "beta"):
        path = tmp_path / f"Pulumi.{stack}.yaml"
        shutil.copy(ROOT / f"Pulumi.{TWIN_SOURCE}.yaml", path)
        run = run_program(path=path, target=target, overrides={"domain": f"{stack}.example.com"})
        assert run.error is None, run.error
        runs.append(run)
    return runs[0], runs[1]


@pytest.mark.parametrize("target", TARGETS)
def test_two_stacks_in_one_account_do_not_collide(tmp_path: Path, target: str) -> None:
    alpha, beta = twin_stacks(tmp_path, target)
    names_alpha, names_beta = set(physical_names(alpha)), set(physical_names(beta))
    assert any(name[0] == WORKLOAD_NAMES[target] for name in names_alpha), "no workload name was seen"
    shared = sorted(names_alpha & names_beta)
    assert not shared, "stacks alpha and beta both ask for:\n  " + "\n  ".join(map(describe, shared))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("stack", STACKS)
def test_no_two_resources_of_one_stack_share_a_name(stack: str, target: str) -> None:
    """The multi stack has two servers on one platform: their resources must not collide either."""
    run = run_program(stack, target)
    assert run.error is None, run.error
    clashes = collisions(physical_names(run))
    assert not clashes, f"{stack}/{target} registers twice:\n  " + "\n  ".join(map(describe, clashes))


def test_the_two_server_stack_has_two_workloads_with_their_own_names() -> None:
    for target, workload in WORKLOAD_NAMES.items():
        run = run_program("multi", target)
        assert run.error is None, run.error
        names = [
            name
            for name in physical_names(run)
            if name[0] == workload and name[2] in ("name", "metadata.name")
        ]
        assert len(set(names)) >= 2, f"{target}: expected a {workload} per server, got {names}"


# --- physical_name --------------------------------------------------------------------------------


def test_the_stack_comes_first_and_parts_follow() -> None:
    assert physical_name("mcp", "notes", stack="dev") == "dev-mcp-notes"


def test_two_stacks_or_two_servers_give_two_names() -> None:
    assert physical_name("mcp", "notes", stack="dev") != physical_name("mcp", "notes", stack="prod")
    assert physical_name("mcp", "notes", stack="dev") != physical_name("mcp", "tools", stack="dev")


@pytest.mark.parametrize("limit", [20, 30, 32, 40])
def test_a_long_name_is_cut_to_the_limit_with_a_hash(limit: int) -> None:
    name = physical_name(
        "platform", "fastmcp-tools-api", "backup-restore", stack="production-eu", limit=limit
    )
    assert len(name) <= limit
    assert re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", name), name
    assert re.search(r"-[0-9a-f]{6}$", name), "a cut name ends in a hash of the whole name"


def test_names_that_differ_only_past_the_limit_stay_apart() -> None:
    first = physical_name("platform", "server-aaaaaaaaaaaaaaaaaaaa-one", stack="dev", limit=30)
    second = physical_name("platform", "server-aaaaaaaaaaaaaaaaaaaa-two", stack="dev", limit=30)
    assert first[:23] == second[:23]
    assert first != second


def test_the_same_input_always_gives_the_same_name() -> None:
    names = {physical_name("mcp", "fastmcp-tools-api", "sa", stack="prod", limit=30) for _ in range(3)}
    assert len(names) == 1


def test_a_short_name_is_not_hashed() -> None:
    assert physical_name("mcp", stack="dev", limit=63) == "dev-mcp"


@pytest.mark.parametrize("stack", ["1st", "-dev", "9"])
def test_the_name_starts_with_a_letter(stack: str) -> None:
    name = physical_name("mcp", stack=stack)
    assert name[0].isalpha(), name


def test_characters_a_cloud_refuses_are_replaced() -> None:
    name = physical_name("My_Server", "v1.2", stack="Dev.Team")
    assert re.fullmatch(r"[a-z0-9-]+", name), name
    assert not name.endswith("-")


def test_the_stack_defaults_to_the_running_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mcp_deploy.names.pulumi.get_stack", lambda: "staging")
    assert physical_name("mcp") == "staging-mcp"
