"""Defect 8: CI's `pulumi up`/`preview` must find `uv` (Pulumi.yaml says `toolchain: uv`), and each
cloud's login must run only for stacks on that cloud. Read from the workflow files themselves."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.stack_files import ROOT, load_project
from tests.harness.stack_target import stack_target

WORKFLOWS = ROOT / ".github" / "workflows"
CLOUD_LOGINS = {
    "google-github-actions/auth": "gcp-cloudrun",
    "aws-actions/configure-aws-credentials": "aws-ecs",
}


def pulumi_jobs() -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(workflow file, job id, steps) of every job that runs the Pulumi CLI against a stack."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for job_id, job in (workflow.get("jobs") or {}).items():
            steps = job.get("steps") or []
            if any(str(step.get("uses", "")).startswith("pulumi/actions@") for step in steps):
                found.append((path.name, job_id, steps))
    return found


def action(step: dict[str, Any]) -> str:
    return str(step.get("uses", "")).split("@")[0]


def index_of(steps: list[dict[str, Any]], name: str) -> int:
    return next(i for i, step in enumerate(steps) if action(step) == name)


JOBS = pulumi_jobs()


def test_the_deploying_workflows_are_found() -> None:
    assert {(file, job) for file, job, _ in JOBS} >= {("up.yml", "up"), ("preview.yml", "preview")}


def test_the_program_runs_with_uv() -> None:
    runtime = load_project()["runtime"]
    assert runtime["options"]["toolchain"] == "uv", "if this changes, so may the CI setup below"


@pytest.mark.parametrize(("file", "job", "steps"), JOBS, ids=[f"{f}:{j}" for f, j, _ in JOBS])
def test_uv_is_installed_before_pulumi_runs(file: str, job: str, steps: list[dict[str, Any]]) -> None:
    names = [action(step) for step in steps]
    assert "astral-sh/setup-uv" in names, f"{file}:{job}: `toolchain: uv` needs uv on the runner"
    assert index_of(steps, "astral-sh/setup-uv") < index_of(steps, "pulumi/actions")
    make_version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert make_version is not None
    assert str(steps[index_of(steps, "astral-sh/setup-uv")]["with"]["version"]) == make_version.group(1)


@pytest.mark.parametrize(("file", "job", "steps"), JOBS, ids=[f"{f}:{j}" for f, j, _ in JOBS])
def test_each_cloud_login_runs_only_for_that_clouds_stacks(
    file: str, job: str, steps: list[dict[str, Any]]
) -> None:
    target_step = next((s for s in steps if s.get("id") == "stack"), None)
    assert target_step is not None, f"{file}:{job}: a step with id `stack` must output the stack's target"
    assert "tests.harness.stack_target" in target_step["run"]
    for login, target in CLOUD_LOGINS.items():
        step = steps[index_of(steps, login)]
        condition = str(step.get("if", "")).replace('"', "'")
        assert condition == f"steps.stack.outputs.target == '{target}'", (
            f"{file}:{job}: {login} must run only when the stack's target is {target}, got if: {condition!r}"
        )
        assert steps.index(target_step) < steps.index(step)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_target_step_reads_the_stack_file(stack: str) -> None:
    output = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "tests.harness.stack_target", stack],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert output == stack_target(stack)
    assert output in {"aws-ecs", "gcp-cloudrun", "kubernetes"}


def test_a_stack_without_a_target_gets_the_declared_default(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: p\nruntime: python\nconfig:\n  target:\n    default: kubernetes\n"
    )
    (tmp_path / "Pulumi.a.yaml").write_text("config:\n  p:domain: x\n")
    (tmp_path / "Pulumi.b.yaml").write_text("config:\n  p:target: gcp-cloudrun\n")
    assert stack_target("a", tmp_path) == "kubernetes"
    assert stack_target("b", tmp_path) == "gcp-cloudrun"


def test_actionlint_passes() -> None:
    result = subprocess.run(
        [str(ROOT / "scanners" / ".venv" / "bin" / "actionlint")],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
