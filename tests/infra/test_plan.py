"""`make plan`: a deterministic, reviewable text of what the program registers, per stack file,
with a committed snapshot per stack x target."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.plan import STACKS, TARGETS, render, snapshot_diff, snapshot_path
from tests.harness.program import run_program
from tests.harness.stack_files import ROOT


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("target", TARGETS)
def test_plan_matches_its_reviewed_snapshot(stack: str, target: str) -> None:
    diff = snapshot_diff(stack, target)
    assert not diff, (
        f"the plan for {stack} x {target} changed; review the diff, then run `make snapshots`:\n" + diff
    )


@pytest.mark.parametrize("stack", STACKS)
def test_plan_is_byte_identical_across_runs(stack: str) -> None:
    first, second = render(run_program(stack)), render(run_program(stack))
    assert first == second
    assert first.startswith(f"# offline plan: stack {stack}, target ")


def test_snapshot_diff_names_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "dev.aws-ecs.plan"
    stale.write_text(snapshot_path("dev", "aws-ecs").read_text().replace("stack dev", "stack old"))
    monkeypatch.setattr("tests.harness.plan.SNAPSHOTS", tmp_path)
    monkeypatch.setattr("tests.harness.plan.ROOT", tmp_path.parent)
    diff = snapshot_diff("dev", "aws-ecs")
    assert "-# offline plan: stack old" in diff
    assert "+# offline plan: stack dev" in diff


def make_plan(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(
        ["make", "-s", "plan", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("stack", STACKS)
def test_make_plan_prints_the_snapshot(stack: str) -> None:
    # both committed stack files name aws-ecs, which is built: the whole snapshot, nothing else
    text = snapshot_path(stack, "aws-ecs").read_text()
    result = make_plan(f"STACK={stack}")
    assert (result.returncode, result.stdout) == (0, text), result.stderr
    # stderr may carry asyncio's "Exception ignored" noise at exit, never an error line
    assert "error:" not in result.stderr


def test_plan_on_a_bad_stack_file_exits_non_zero_with_the_config_message(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text(
        (ROOT / "Pulumi.dev.yaml").read_text().replace("{min: 1, max: 2}", "{min: 1, max: 0}")
        + "  mcp-deploy:colour: blue\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.harness.plan", "--stack-file", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "error: invalid stack config (2 problems):\n"
        "  mcp-deploy:colour: got blue; allowed: no such key\n"
        "  mcp-deploy:servers.notes.replicas.max: got 0; allowed: greater than or equal to 1\n"
    )
    assert "pulumi:pulumi:Stack broken" in result.stdout  # nothing registered under it


def test_make_plan_on_a_missing_stack_file_says_which_exist() -> None:
    result = make_plan("STACK=nope")
    assert result.returncode != 0
    assert "no stack file" in result.stderr
    assert "stacks here: dev, multi, prod" in result.stderr
