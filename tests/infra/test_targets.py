"""One key picks the target's components, and every target exports the same outputs."""

import pytest

from mcp_deploy.config import Target
from mcp_deploy.targets import PLATFORM_OUTPUTS, Platform, TargetNotImplementedError, components_for
from tests.harness.program import run_program

TARGETS: tuple[Target, ...] = ("aws-ecs", "gcp-cloudrun", "kubernetes")


def test_the_output_contract_is_what_the_protocol_declares() -> None:
    assert set(PLATFORM_OUTPUTS) == set(Platform.__annotations__)


def test_an_unknown_target_is_refused_before_anything_is_registered() -> None:
    with pytest.raises(TargetNotImplementedError, match="target azure-aci is not implemented"):
        components_for("azure-aci")  # type: ignore[arg-type]  # what a future Target would be


@pytest.mark.parametrize("stack", ["dev", "prod", "multi"])
@pytest.mark.parametrize("target", TARGETS)
def test_every_target_exports_the_whole_contract(stack: str, target: Target) -> None:
    run = run_program(stack, target)
    assert run.error is None, run.error
    assert set(PLATFORM_OUTPUTS) <= set(run.outputs)
    servers = run.outputs["servers"]
    expected = {"notes", "tools", "time"} if stack == "multi" else {"notes"}
    assert set(servers) == expected
    for name, server in servers.items():
        assert server["url"] == f"https://{run.outputs['url'].removeprefix('https://')}/{name}/mcp"
        assert server["image"]
    empty = {name for name in PLATFORM_OUTPUTS if run.outputs[name] in ("", None)}
    # only a kubernetes stack without k8sBackupUrl (dev) has no bucket to name
    assert empty == ({"backup_bucket"} if (stack, target) == ("dev", "kubernetes") else set())


@pytest.mark.parametrize("target", TARGETS)
def test_client_config_names_every_server_at_its_public_url(target: Target) -> None:
    run = run_program("multi", target)
    assert run.error is None, run.error
    config = run.outputs["clientConfig"]
    urls = {name: server["url"] for name, server in run.outputs["servers"].items()}
    expected = {name: {"type": "http", "url": url} for name, url in urls.items()}
    assert config["vscode"] == {"servers": expected}  # .vscode/mcp.json
    assert config["mcpJson"] == {"mcpServers": expected}  # .mcp.json
    assert config["claude"] == [
        f"claude mcp add --transport http {name} {url}" for name, url in sorted(urls.items())
    ]
    assert urls["time"] == "https://mcp-multi.example.com/time/mcp"
