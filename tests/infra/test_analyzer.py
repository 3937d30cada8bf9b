"""Pulumi's component schema analyzer reads every platform and server component: the schema a
TypeScript, Go or YAML program gets through `pulumi package add` (PulumiPlugin.yaml), with a
description on every input."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.analyzer import Analyzer, PropertyDefinition

import mcp_deploy
from mcp_deploy.aws import AwsPlatform, AwsServer
from mcp_deploy.gcp import GcpPlatform, GcpServer
from mcp_deploy.k8s import K8sPlatform, K8sServer
from tests.harness.stack_files import ROOT

PLATFORMS_AND_SERVERS = [AwsPlatform, AwsServer, GcpPlatform, GcpServer, K8sPlatform, K8sServer]
EXPECTED = {c.__name__ for c in PLATFORMS_AND_SERVERS}
SERVED = {"AwsDeployment", "GcpDeployment", "K8sDeployment"}


def components() -> list[type[pulumi.ComponentResource]]:
    """Every component class: the platform and server pairs, and the Deployments the plugin serves."""
    return [*PLATFORMS_AND_SERVERS, *mcp_deploy.COMPONENTS]


def test_the_constructors_annotations_are_real_types() -> None:
    """The analyzer reads `args`'s annotation at runtime: a string (from `from __future__ import
    annotations` in the component's module) cannot be followed."""
    unreadable = [
        f"{c.__module__}.{c.__name__}: args is annotated {annotation!r}"
        for c in components()
        if isinstance(annotation := inspect.get_annotations(c.__init__).get("args"), str)
        or annotation is None
    ]
    assert not unreadable, (
        "remove `from __future__ import annotations` from these modules (or annotate `args`):\n  "
        + "\n  ".join(unreadable)
    )


@pytest.fixture(scope="module")
def schema() -> Any:
    return Analyzer("mcp-deploy").analyze(components())


def undocumented(owner: str, properties: dict[str, PropertyDefinition]) -> list[str]:
    found = []
    for name, prop in properties.items():
        if not (prop.description or "").strip():
            found.append(f"{owner}.{name}")
        for nested in (prop.items, prop.additional_properties):
            if nested is not None and nested.ref is None and nested.type is None:
                found.append(f"{owner}.{name}: element type unknown")
    return found


def test_the_plugin_serves_one_deployment_per_target() -> None:
    assert {c.__name__ for c in mcp_deploy.COMPONENTS} == SERVED


def test_the_analyzer_reads_every_component(schema: Any) -> None:
    assert set(schema["component_definitions"]) == EXPECTED | SERVED
    for name, component in schema["component_definitions"].items():
        assert component.inputs, f"{name} has no inputs the schema can show"
        assert (component.description or "").strip(), f"{name} needs a class docstring"


def test_every_input_has_a_description(schema: Any) -> None:
    missing: list[str] = []
    for name, component in schema["component_definitions"].items():
        missing += undocumented(name, component.inputs)
    for name, type_def in schema["type_definitions"].items():
        missing += undocumented(name, type_def.properties)
    assert not missing, "inputs without a description (a docstring under the field):\n  " + "\n  ".join(
        missing
    )


def test_the_outputs_every_target_shares_are_in_the_schema(schema: Any) -> None:
    for name, component in schema["component_definitions"].items():
        shared = (
            {"url", "database", "cache", "backupBucket"}
            if name.endswith("Platform")
            else {"url", "serverUrls"}
            if name.endswith("Deployment")
            else {"url", "image"}
        )
        assert shared <= set(component.outputs), f"{name}: outputs {sorted(component.outputs)}"


def test_the_plugin_manifest_runs_the_provider_host() -> None:
    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    entry = ROOT / manifest["main"]
    # The root __main__.py is the stack program: the plugin must start from its own entry point.
    assert entry != ROOT
    assert (entry / "__main__.py").is_file()
    source = (entry / "__main__.py").read_text()
    assert "component_provider_host" in source
    assert "COMPONENTS" in source


def test_the_provider_entry_hosts_the_components(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the plugin's __main__ with the host replaced: it must hand over exactly COMPONENTS."""
    import runpy

    import pulumi.provider.experimental as experimental

    hosted: dict[str, Any] = {}
    monkeypatch.setattr(experimental, "component_provider_host", lambda **kwargs: hosted.update(kwargs))
    main = Path(ROOT / yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())["main"] / "__main__.py")
    runpy.run_path(str(main), run_name="__main__")
    assert hosted["name"] == "mcp-deploy"
    assert {c.__name__ for c in hosted["components"]} == SERVED
