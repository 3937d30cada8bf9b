"""A new secret value reaches running tasks (defect 6): the value changes the version, the
version changes the task definition, and a new task definition is a rolling deployment."""

import json

from tests.harness.program import ProgramRun, run_program

TASK = "aws:ecs/taskDefinition:TaskDefinition"
LABEL = "mcp-deploy.secrets-revision"


def _revision(run: ProgramRun, family: str) -> str:
    assert run.error is None, run.error
    [container] = [c for c in json.loads(run.named(TASK, family).inputs["containerDefinitions"])
                   if c["name"] == "server"]  # fmt: skip
    return container["dockerLabels"][LABEL]


def test_a_new_secret_value_changes_only_the_task_definition_that_reads_it() -> None:
    first = run_program("multi", "aws-ecs", secret_overrides={"toolsApiKey": "Tools-Key-One-For-Tests"})
    second = run_program("multi", "aws-ecs", secret_overrides={"toolsApiKey": "Tools-Key-Two-For-Tests"})
    assert _revision(first, "tools-server") != _revision(second, "tools-server")
    assert _revision(first, "notes-server") == _revision(second, "notes-server")
