"""examples/three-servers: the library used directly, planned offline for every target."""

import pytest

from tests.harness.program import run_program
from tests.harness.stack_files import ROOT

EXAMPLE = ROOT / "examples" / "three-servers"
TARGETS = ("aws-ecs", "gcp-cloudrun", "kubernetes")


@pytest.mark.parametrize("target", TARGETS)
def test_the_example_plans_one_platform_and_three_servers(target: str) -> None:
    run = run_program(
        path=EXAMPLE / "Pulumi.example.yaml", program=EXAMPLE / "__main__.py", overrides={"target": target}
    )
    assert run.error is None, run.error
    platforms = [r for r in run.resources if r.type.endswith(":Platform")]
    servers = sorted(r.name for r in run.resources if r.type.endswith(":Server"))
    assert [p.name for p in platforms] == ["mcp"]
    assert servers == ["notes", "tools", "whiteboard"]
    assert set(run.outputs) == {"url", "notes_url", "tools_url", "whiteboard_url"}
    assert run.outputs["tools_url"] == "https://mcp.example.org/tools/mcp"
