"""Print a stack's `mcp-deploy:target` from its stack file (or Pulumi.yaml's default), without the
Pulumi CLI: CI uses it to fetch only the credentials of the cloud the stack deploys to.

    python -m tests.harness.stack_target dev   # -> aws-ecs
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.harness.stack_files import ROOT, load_project, stack_file


def stack_target(stack: str, project_dir: Path = ROOT) -> str:
    project = load_project(project_dir)
    namespace = project["name"]
    values = (yaml.safe_load(stack_file(stack, project_dir).read_text()) or {}).get("config") or {}
    for key in (f"{namespace}:target", "target"):
        if key in values:
            return str(values[key])
    declared = (project.get("config") or {}).get("target")
    return str(declared.get("default", "")) if isinstance(declared, dict) else str(declared or "")


if __name__ == "__main__":
    print(stack_target(sys.argv[1]))
