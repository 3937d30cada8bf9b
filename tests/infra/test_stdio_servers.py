"""A stdio server (`transport: stdio`, Pulumi.multi.yaml's `time`) on every target: built from the
pinned package into an image FROM the platform's one bridge base image, deployed like any private
server behind the gateway, with the bridge configured through BRIDGE_* env vars."""

import json
from typing import Any

import pytest

from tests.harness.graph import direct_dependencies
from tests.harness.program import ProgramRun, run_program
from tests.infra.test_two_servers import gateway_routes

IMAGE = "docker:index/image:Image"
PACKAGE = "pypi:mcp-server-time==2026.10.19"


@pytest.fixture(scope="module", params=["aws-ecs", "gcp-cloudrun", "kubernetes"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    found = run_program("multi", request.param)
    assert found.error is None, found.error
    return found


def _builds(run: ProgramRun, dockerfile: str) -> list[Any]:
    return [r for r in run.of_type(IMAGE) if r.inputs["build"]["dockerfile"] == dockerfile]


def test_one_bridge_base_image_and_the_server_image_built_from_it_with_the_pinned_package(
    run: ProgramRun,
) -> None:
    [base] = _builds(run, "bridge/Dockerfile")
    assert base.inputs["build"]["context"] == "."
    [server] = _builds(run, "bridge/server-image/Dockerfile")
    assert server.inputs["build"]["context"] == "bridge/server-image"
    args = server.inputs["build"]["args"]
    assert args["PACKAGE"] == PACKAGE
    # FROM the base by digest, which exists only once the base is pushed: an edge, not a guess.
    assert args["BRIDGE_BASE"].split("@sha256:")[0] in base.inputs["imageName"]
    assert base.urn in direct_dependencies(server)


def test_the_bridged_server_runs_the_bridge_with_its_args_and_probes(run: ProgramRun) -> None:
    env, container = _container(run, "time")
    assert json.loads(env["BRIDGE_ARGS"]) == ["--local-timezone", "UTC"]
    assert env["BRIDGE_SESSIONS"] == "stateless"
    assert env["BRIDGE_NAME"] == "time"
    assert env["BRIDGE_POOL_SIZE"] == "2"
    assert "BRIDGE_COMMAND" not in env  # the package's own command, found at build time
    # The image's entrypoint (mcp-bridge serve) runs: the stdio args are the bridge's, not CMD's.
    for key in ("command", "entryPoint", "commands", "args"):
        assert key not in container, key


def test_the_bridged_server_is_private_behind_the_gateway(run: ProgramRun) -> None:
    route = gateway_routes(run)["time"]
    assert route["path"] == "/mcp"
    assert route["sticky"] is False
    assert run.outputs["servers"]["time"]["url"] == "https://mcp-multi.example.com/time/mcp"
    if run.target == "aws-ecs":
        assert route["upstream"] == "http://time:8080"  # Service Connect, inside the VPC
    elif run.target == "gcp-cloudrun":
        service = run.named("gcp:cloudrunv2/service:Service", "time-service").inputs
        assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    else:
        assert route["upstream"].endswith(".svc:8080")
        policy = run.named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "time-server").inputs
        [rule] = policy["spec"]["ingress"]
        assert [p["port"] for p in rule["ports"]] == [8080]


def _container(run: ProgramRun, server: str) -> tuple[dict[str, str], dict[str, Any]]:
    # The bridge serves /metrics, so a collector sidecar runs beside it on aws and gcp.
    if run.target == "aws-ecs":
        task = run.named("aws:ecs/taskDefinition:TaskDefinition", f"{server}-server").inputs
        containers = {c["name"]: c for c in json.loads(task["containerDefinitions"])}
        assert set(containers) == {"server", "collector"}
        container = containers["server"]
        return {e["name"]: e["value"] for e in container["environment"]}, container
    if run.target == "gcp-cloudrun":
        service = run.named("gcp:cloudrunv2/service:Service", f"{server}-service").inputs
        containers = {c["name"]: c for c in service["template"]["containers"]}
        assert set(containers) == {"server", "collector"}
        container = containers["server"]
        return {e["name"]: e["value"] for e in container["envs"] if "value" in e}, container
    deployment = run.named("kubernetes:apps/v1:Deployment", f"{server}-server").inputs
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}, container
