"""Pulumi.multi.yaml on every target: our server and a team's prebuilt image on one platform (its
third server, a bridged stdio one, is tested in test_stdio_servers.py).

The second server (port 3000, /healthz, one secret, neither Postgres nor Redis) must get exactly
its own contract: nothing of ours (port 8000, `serve`, /health, a database, a backup) leaks into it,
and the shared parts exist once.
"""

import json
from typing import Any

import pytest
import yaml

from tests.harness.program import ProgramRun, run_program
from tests.harness.stack_files import ROOT

SECRET = "offline-"  # the harness's stand-in for the stack file's encrypted toolsApiKey


@pytest.fixture(scope="module", params=["aws-ecs", "gcp-cloudrun", "kubernetes"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    found = run_program("multi", request.param)
    assert found.error is None, found.error
    return found


def _of(run: ProgramRun, type_token: str, name: str) -> dict[str, Any]:
    return run.named(type_token, name).inputs


def _containers(task: dict[str, Any]) -> list[dict[str, Any]]:
    """An ECS task definition's containers (the provider takes them as JSON text)."""
    return json.loads(task["containerDefinitions"])


def test_the_shared_parts_exist_once(run: ProgramRun) -> None:
    once = {
        "aws-ecs": [
            "aws:ec2/vpc:Vpc",
            "aws:lb/loadBalancer:LoadBalancer",
            "aws:ecs/cluster:Cluster",
            "aws:rds/instance:Instance",
            "aws:elasticache/replicationGroup:ReplicationGroup",
        ],
        "gcp-cloudrun": [
            "gcp:compute/network:Network",
            "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
            "gcp:sql/databaseInstance:DatabaseInstance",
            "gcp:sql/database:Database",
            "gcp:redis/instance:Instance",
        ],
        "kubernetes": [
            "kubernetes:core/v1:Namespace",
            "kubernetes:gateway.networking.k8s.io/v1:Gateway",
            "kubernetes:postgresql.cnpg.io/v1:Cluster",
            "kubernetes:postgresql.cnpg.io/v1:Database",
        ],
    }[run.target or ""]
    for type_token in once:
        assert len(run.of_type(type_token)) == 1, type_token


def test_only_our_server_gets_a_database(run: ProgramRun) -> None:
    if run.target == "aws-ecs":  # RDS databases are made by the provision step in the task
        commands = {r.name: [c.get("command") for c in _containers(r.inputs)] for r in run.of_type(TASK)}
        assert ["provision"] in commands["notes-server"]
        assert ["provision"] not in commands["tools-server"]
    elif run.target == "gcp-cloudrun":
        assert [r.inputs["name"] for r in run.of_type("gcp:sql/database:Database")] == ["notes"]
    else:
        [database] = run.of_type("kubernetes:postgresql.cnpg.io/v1:Database")
        assert database.inputs["spec"]["name"] == "notes"


TASK = "aws:ecs/taskDefinition:TaskDefinition"


def test_the_team_server_is_probed_and_reached_on_its_own_port_and_path(run: ProgramRun) -> None:
    assert gateway_routes(run)["tools"]["upstream"].endswith(":3000") or run.target == "gcp-cloudrun"
    if run.target == "aws-ecs":
        [container] = _containers(_of(run, TASK, "tools-server"))
        assert [mapping["containerPort"] for mapping in container["portMappings"]] == [3000]
    elif run.target == "gcp-cloudrun":
        [container] = _of(run, "gcp:cloudrunv2/service:Service", "tools-service")["template"]["containers"]
        assert container["ports"]["containerPort"] == 3000
        for probe in ("startupProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": 3000}
    else:
        pod = _of(run, "kubernetes:apps/v1:Deployment", "tools-server")["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert [p["containerPort"] for p in container["ports"]] == [3000]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/healthz"
            assert container[probe]["httpGet"]["port"] in (3000, "http")
        policy = _of(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "tools-server")
        assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [3000]


def test_the_team_server_runs_its_own_command_and_gets_its_secret_by_reference(run: ProgramRun) -> None:
    if run.target == "aws-ecs":
        [container] = _containers(_of(run, TASK, "tools-server"))
        assert "command" not in container
        assert "entryPoint" not in container
        [secret] = container["secrets"]
        assert secret["name"] == "TOOLS_API_KEY"
        assert secret["valueFrom"].startswith("arn:aws:secretsmanager:")
        env = container["environment"]
    elif run.target == "gcp-cloudrun":
        [container] = _of(run, "gcp:cloudrunv2/service:Service", "tools-service")["template"]["containers"]
        assert "args" not in container
        assert "commands" not in container
        secret = next(e for e in container["envs"] if e["name"] == "TOOLS_API_KEY")
        assert set(secret) == {"name", "valueSource"}
        assert secret["valueSource"]["secretKeyRef"]["version"] != "latest"
        env = container["envs"]
    else:
        pod = _of(run, "kubernetes:apps/v1:Deployment", "tools-server")["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert "args" not in container
        assert "command" not in container
        secret = next(e for e in container["env"] if e["name"] == "TOOLS_API_KEY")
        assert set(secret) == {"name", "valueFrom"}
        env = container["env"]
    assert SECRET not in json.dumps(env)
    assert "DATABASE_URL" not in json.dumps(env)
    assert "REDIS" not in json.dumps(env)


def test_only_our_server_is_backed_up(run: ProgramRun) -> None:
    text = json.dumps([r.inputs for r in run.resources])
    assert "PG_URL_TOOLS" not in text
    assert "PG_URL_NOTES" in text


def test_the_gateway_routes_both_servers_under_their_own_prefix(run: ProgramRun) -> None:
    routes = gateway_routes(run)
    assert set(routes) == {"notes", "tools", "time"}  # time: the stdio server, test_stdio_servers.py
    assert routes["tools"]["path"] == "/mcp"
    assert routes["tools"]["scopes"] == ["tools:call"]
    assert routes["notes"]["scopes"] == ["notes:read", "notes:write"]
    assert run.outputs["servers"]["tools"]["url"] == "https://mcp-multi.example.com/tools/mcp"


def gateway_routes(run: ProgramRun) -> dict[str, Any]:
    """GATEWAY_ROUTES as the gateway's workload receives it, on any target."""
    found = [value for r in run.resources for value in _env_values(r.inputs, "GATEWAY_ROUTES")]
    assert len(found) == 1, f"one gateway workload with GATEWAY_ROUTES, found {len(found)}"
    return json.loads(found[0])


def _env_values(value: Any, name: str) -> list[str]:
    if isinstance(value, str) and value.startswith("[{") and name in value:
        return _env_values(json.loads(value), name)  # ECS container definitions are JSON text
    if isinstance(value, dict):
        if value.get("name") == name and isinstance(value.get("value"), str):
            return [value["value"]]
        return [found for item in value.values() for found in _env_values(item, name)]
    if isinstance(value, list):
        return [found for item in value for found in _env_values(item, name)]
    return []


def test_the_stack_file_is_the_one_described() -> None:
    """The contract the tests here check is the stack file's: read it, not a copy of it."""
    config = yaml.safe_load((ROOT / "Pulumi.multi.yaml").read_text())["config"]
    tools = config["mcp-deploy:servers"]["tools"]
    assert tools["port"] == 3000
    assert tools["health"] == {"liveness": "/healthz", "readiness": "/healthz"}
    assert not {"postgres", "redis", "build"} & tools.keys()
    # The team server's key names a stack key that holds it encrypted, never in plain text.
    [(env, key)] = tools["secrets"].items()
    assert env == "TOOLS_API_KEY"
    assert set(config[f"mcp-deploy:{key}"]) == {"secure"}
