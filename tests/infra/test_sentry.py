"""`sentryDsn` names a secret stack key holding a Sentry DSN: the gateway, our server and every
stdio bridge get SENTRY_DSN from the target's secret manager, by reference; other images do not,
and the DSN appears in no plain input."""

import json

import pytest

from mcp_deploy.config import ConfigError
from tests.harness.program import ProgramRun, run_program

DSN = "https://0123456789abcdef@o1.ingest.example.io/42"  # a made-up DSN in Sentry's shape


@pytest.fixture(scope="module", params=["aws-ecs", "gcp-cloudrun", "kubernetes"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    found = run_program(
        "multi", request.param, overrides={"sentryDsn": "errorsDsn"}, secret_overrides={"errorsDsn": DSN}
    )
    assert found.error is None, found.error
    return found


def test_the_dsn_reaches_the_gateway_our_server_and_the_bridge_by_reference(run: ProgramRun) -> None:
    assert _workloads_with_sentry(run) == {"gateway", "notes", "time"}  # not the team's image "tools"


def test_the_dsn_is_in_no_plain_input(run: ProgramRun) -> None:
    for resource in run.resources:
        if DSN in json.dumps(resource.inputs):
            # Only where a secret manager (or a k8s Secret) holds it, marked secret.
            assert resource.secret_inputs, (resource.type, resource.name)
            assert resource.type in (
                "aws:secretsmanager/secretVersion:SecretVersion",
                "gcp:secretmanager/secretVersion:SecretVersion",
                "kubernetes:core/v1:Secret",
            ), (resource.type, resource.name)


def test_a_dsn_stored_in_plain_text_or_misshapen_is_refused_without_echoing_it() -> None:
    plain = run_program("dev", "aws-ecs", overrides={"sentryDsn": "errorsDsn", "errorsDsn": DSN})
    assert isinstance(plain.error, ConfigError)
    assert "errorsDsn" in str(plain.error)
    assert DSN not in str(plain.error)
    bad = run_program(
        "dev", "aws-ecs", overrides={"sentryDsn": "errorsDsn"}, secret_overrides={"errorsDsn": "http://x"}
    )
    assert isinstance(bad.error, ConfigError)
    assert "sentryDsn -> errorsDsn: got [secret]; allowed: a Sentry DSN" in str(bad.error)
    assert bad.resources == []


def _workloads_with_sentry(run: ProgramRun) -> set[str]:
    found = set()
    if run.target == "aws-ecs":
        for task in run.of_type("aws:ecs/taskDefinition:TaskDefinition"):
            for container in json.loads(task.inputs["containerDefinitions"]):
                names = {s["name"] for s in container.get("secrets", [])}
                if "SENTRY_DSN" in names:
                    found.add(task.name.removesuffix("-server").removeprefix("mcp-"))
    elif run.target == "gcp-cloudrun":
        for service in run.of_type("gcp:cloudrunv2/service:Service"):
            for container in service.inputs["template"]["containers"]:
                for env in container.get("envs", []):
                    if env["name"] == "SENTRY_DSN":
                        assert "valueSource" in env  # a Secret Manager reference, never a value
                        found.add(service.name.removesuffix("-service").removeprefix("mcp-"))
    else:
        for deployment in run.of_type("kubernetes:apps/v1:Deployment"):
            for container in deployment.inputs["spec"]["template"]["spec"]["containers"]:
                for env in container.get("env", []):
                    if env["name"] == "SENTRY_DSN":
                        assert "secretKeyRef" in env["valueFrom"]
                        found.add(deployment.name.removesuffix("-server").removeprefix("mcp-"))
    return found
