"""Fixtures the target test modules share: each sets TARGET and gets both stacks' runs once."""

from __future__ import annotations

import pytest

from tests.harness.plan import STACKS
from tests.harness.program import ProgramRun, run_program


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> dict[str, ProgramRun]:
    target = request.module.TARGET
    result = {stack: run_program(stack, target) for stack in STACKS}
    for run in result.values():
        assert run.error is None, run.error
    return result
