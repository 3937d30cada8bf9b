"""The Python API used directly, without stack config: a few lines run as a program of the
library example's project and stack (examples/three-servers), for what only a library program
can pass a component."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.harness.program import ProgramRun, run_program
from tests.harness.stack_files import ROOT

EXAMPLE = ROOT / "examples" / "three-servers"
# The least an AwsPlatform needs; tests add the argument they are about.
AWS_PLATFORM_ARGS: dict[str, Any] = {
    "domain": "mcp.example.org",
    "auth_issuer": "https://login.example.org/",
    "aws": {"hosted_zone_id": "ZEXAMPLEZONE"},
}


def run_aws_platform(tmp_path: Path, **args: Any) -> ProgramRun:
    """`AwsPlatform('mcp', AWS_PLATFORM_ARGS | args)` alone, planned under mocks."""
    source = (
        f"from mcp_deploy.aws.platform import AwsPlatform\nAwsPlatform('mcp', {AWS_PLATFORM_ARGS | args!r})\n"
    )
    (tmp_path / "Pulumi.yaml").write_text((EXAMPLE / "Pulumi.yaml").read_text())
    (tmp_path / "__main__.py").write_text(source)
    return run_program(path=EXAMPLE / "Pulumi.example.yaml", program=tmp_path / "__main__.py")
