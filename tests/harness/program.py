"""Run the real program for a stack file under Pulumi mocks, as `pulumi up` would run it.

The CLI's Python language host sets the config, then calls
`run_in_stack(lambda: runpy.run_path("__main__.py", run_name="__main__"))`; so does this, with a
recording mock monitor in place of the engine. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockEngine, MockSettings
from pulumi.runtime.stack import run_in_stack

from tests.harness.mocks import RealisticMocks
from tests.harness.monitor import RecordingMonitor, Registration
from tests.harness.stack_files import ROOT, StackFileError, read_stack, stack_file

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class ProgramRun:
    stack: str
    target: str | None
    resources: list[Registration] = field(default_factory=lambda: [])
    outputs: dict[str, Any] = field(default_factory=lambda: {})
    error: BaseException | None = None

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Registration:
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {[r.name for r in found]}"
        return found[0]

    def named(self, type_token: str, name: str) -> Registration:
        found = [r for r in self.of_type(type_token) if r.name == name]
        assert len(found) == 1, f"{type_token} {name}: {[r.name for r in self.of_type(type_token)]}"
        return found[0]

    def children(self, parent: Registration) -> list[Registration]:
        return [r for r in self.resources if r.parent == parent.urn]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.resources if r.urn == urn)


def run_program(
    stack: str = "dev",
    target: str | None = None,
    *,
    path: Path | None = None,
    overrides: dict[str, str] | None = None,
    secret_overrides: dict[str, str] | None = None,
    preview: bool = False,
    program: Path = ROOT / "__main__.py",
) -> ProgramRun:
    """Run `program` for `Pulumi.<stack>.yaml` (or the stack file at `path`).

    `target` overrides `mcp-deploy:target` like `pulumi config set target ...` would. Errors the
    CLI or the program raise are returned in `ProgramRun.error`, with whatever was registered.
    """
    path = path or stack_file(stack)
    changes = dict(overrides or {})
    if target is not None:
        changes["target"] = target
    run = ProgramRun(stack=path.name, target=target)
    try:
        config = read_stack(path, program.parent, changes, secret_overrides)
    except StackFileError as error:
        run.error = error
        return run
    run.stack = config.stack
    run.target = config.values.get(f"{config.project}:target")

    monitor = RecordingMonitor(RealisticMocks())
    _configure(monitor, config.project, config.stack, preview)
    runtime_config.set_all_config(config.values, sorted(config.secret_keys))
    if str(program.parent) not in sys.path:
        sys.path.insert(0, str(program.parent))

    def run_main() -> None:
        runpy.run_path(str(program), run_name="__main__")

    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(run_in_stack(run_main))
    except Exception as error:  # noqa: BLE001 - the run reports what the program raised
        run.error = error
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        runtime_config.set_all_config({}, [])
        runtime_settings.set_root_resource(None)  # type: ignore[arg-type]
    run.resources = [r for r in monitor.registrations if r.type != STACK_TYPE]
    stack_name = f"{config.project}-{config.stack}"
    stack_urn = f"urn:pulumi:{config.stack}::{config.project}::{STACK_TYPE}::{stack_name}"
    run.outputs = monitor.outputs.get(stack_urn, {})
    return run


def _configure(monitor: RecordingMonitor, project: str, stack: str, preview: bool) -> None:
    """Point the SDK at the mock monitor without creating a root stack (run_in_stack does)."""
    from google.protobuf import empty_pb2

    runtime_settings.set_root_resource(None)  # type: ignore[arg-type]
    runtime_settings.configure(
        MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures),
            engine=MockEngine(None),
            project=project,
            stack=stack,
            dry_run=preview,
            organization="organization",
            callbacks=None,
        )
    )
