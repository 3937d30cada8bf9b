"""The offline plan: the resource graph the program registers for a stack, as reviewable text.

    python -m tests.harness.plan --stack dev [--target kubernetes]   # what `make plan` runs
    python -m tests.harness.plan --update-snapshots                  # what `make snapshots` runs

One line per resource (type token and name) nested under its parent, then its inputs flattened
to `path: value`, secrets masked. Children are sorted by type and name and mock ids derive from
names, so the same program and stack file always print the same bytes and two branches diff.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from tests.harness.monitor import Registration
from tests.harness.program import ProgramRun, run_program
from tests.harness.stack_files import ROOT, stack_file

SNAPSHOTS = ROOT / "tests" / "snapshots"
STACKS = ("dev", "prod", "multi")
TARGETS = ("aws-ecs", "gcp-cloudrun", "kubernetes")
MASK = "[secret]"


def render(run: ProgramRun) -> str:
    """The whole plan as the snapshots hold it: the graph, then the error if the run stopped."""
    return render_graph(run) + render_error(run)


def render_graph(run: ProgramRun) -> str:
    lines = [f"# offline plan: stack {run.stack}, target {run.target or '?'} (Pulumi mocks, no cloud)"]
    lines.append(f"pulumi:pulumi:Stack {run.stack}")
    registered = {r.urn for r in run.resources}
    for resource in _sorted([r for r in run.resources if r.parent not in registered]):
        _render_resource(run, resource, 1, lines)
    if run.outputs:
        lines.append("outputs:")
        lines.extend(f"  {key}: {value}" for key, value in _flatten(run.outputs, "", frozenset()))
    return "\n".join(lines) + "\n"


def render_error(run: ProgramRun) -> str:
    return "" if run.error is None else f"error: {run.error}\n"


def _render_resource(run: ProgramRun, resource: Registration, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    options = _options(resource)
    lines.append(f"{pad}{resource.type} {resource.name}" + (f"  ({options})" if options else ""))
    for key, value in _flatten(resource.inputs, "", resource.secret_inputs):
        lines.append(f"{pad}    {key}: {value}")
    for child in _sorted(run.children(resource)):
        _render_resource(run, child, depth + 1, lines)


def _options(resource: Registration) -> str:
    flags = [
        name
        for name, on in (
            ("protect", resource.protect),
            ("retainOnDelete", resource.retain_on_delete),
            ("deleteBeforeReplace", resource.delete_before_replace),
        )
        if on
    ]
    if resource.ignore_changes:
        flags.append("ignoreChanges=" + ",".join(resource.ignore_changes))
    if resource.aliases:
        flags.append("aliases=" + ",".join(resource.aliases))
    return ", ".join(flags)


def _flatten(value: Any, path: str, secret: frozenset[str]) -> list[tuple[str, str]]:
    if path in secret and path:
        return [(path, MASK)]
    if isinstance(value, dict) and value:
        return [
            item
            for key in sorted(value)
            for item in _flatten(value[key], f"{path}.{key}" if path else key, secret)
        ]
    if isinstance(value, list) and value:
        return [item for i, v in enumerate(value) for item in _flatten(v, f"{path}[{i}]", secret)]
    if isinstance(value, str) and value[:1] in "[{":
        # JSON documents (container definitions, IAM policies) read better as paths.
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            return _flatten(parsed, path, secret)
    if value in ({}, [], None, ""):
        return []
    return [(path, json.dumps(value, sort_keys=True))]


def _sorted(resources: list[Registration]) -> list[Registration]:
    return sorted(resources, key=lambda r: (r.type, r.name))


def snapshot_path(stack: str, target: str) -> Path:
    return SNAPSHOTS / f"{stack}.{target}.plan"


def snapshot_diff(stack: str, target: str) -> str:
    """A unified diff from the committed snapshot to the current plan; empty when they match."""
    current = render(run_program(stack, target))
    path = snapshot_path(stack, target)
    committed = path.read_text() if path.exists() else ""
    return "".join(
        difflib.unified_diff(
            committed.splitlines(True),
            current.splitlines(True),
            str(path.relative_to(ROOT)),
            "current plan",
        )
    )


def update_snapshots() -> list[Path]:
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    written = []
    for stack in STACKS:
        for target in TARGETS:
            path = snapshot_path(stack, target)
            path.write_text(render(run_program(stack, target)))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stack", default="dev", help="reads Pulumi.<STACK>.yaml")
    parser.add_argument("--stack-file", type=Path, help="a stack file anywhere (overrides --stack)")
    parser.add_argument("--target", choices=TARGETS, help="override mcp-deploy:target")
    parser.add_argument("--update-snapshots", action="store_true", help="rewrite tests/snapshots")
    options = parser.parse_args(argv)
    if options.update_snapshots:
        for path in update_snapshots():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    run = run_program(options.stack, options.target, path=options.stack_file or stack_file(options.stack))
    sys.stdout.write(render_graph(run))
    sys.stderr.write(render_error(run))
    return 0 if run.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
