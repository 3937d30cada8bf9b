"""gcp-cloudrun behind the gateway (issue 12): the load balancer reaches only the gateway's Cloud Run
service; servers are internal-only and invocable by the gateway's account alone; GATEWAY_ROUTES
names each server's internal URL; secrets by reference; our server trusts the gateway's tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.gcp_runs import STACKS, run_gcp, run_uri
from tests.harness.graph import transitive_dependencies
from tests.harness.program import ProgramRun

RUN_SERVICE = "gcp:cloudrunv2/service:Service"
INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
BACKEND = "gcp:compute/backendService:BackendService"
NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
SERVERS = ("notes", "tools")


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    result = {stack: run_gcp(stack) for stack in STACKS}
    for run in result.values():
        assert run.error is None, run.error
    return result


def gateway(run: ProgramRun) -> dict[str, Any]:
    return run.named(RUN_SERVICE, "mcp-gateway").inputs


def container_of(service: dict[str, Any], name: str) -> dict[str, Any]:
    """The named container: a scraped service also runs a `collector` sidecar."""
    [container] = [c for c in service["template"]["containers"] if c["name"] == name]
    return container


def env_of(service: dict[str, Any], name: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(plain values, secret references) of the service's container `name`."""
    container = container_of(service, name)
    plain = {e["name"]: e["value"] for e in container["envs"] if "value" in e}
    refs = {e["name"]: e["valueSource"]["secretKeyRef"] for e in container["envs"] if "valueSource" in e}
    return plain, refs


def gateway_email(run: ProgramRun) -> str:
    return run.named("gcp:serviceaccount/account:Account", "mcp-gateway").state["email"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_url_map_sends_everything_to_the_gateway_behind_cloud_armor(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    [backend] = run.of_type(BACKEND)  # no backend per server any more
    [neg] = run.of_type(NEG)
    url_map = run.named("gcp:compute/uRLMap:URLMap", "mcp-https").inputs
    assert url_map["defaultService"] == backend.state["id"]
    assert "pathMatchers" not in url_map
    assert "hostRules" not in url_map
    assert neg.inputs["networkEndpointType"] == "SERVERLESS"
    assert neg.inputs["cloudRun"]["service"] == gateway(run)["name"]
    assert backend.inputs["backends"] == [{"group": neg.state["id"]}]
    armor = run.one("gcp:compute/securityPolicy:SecurityPolicy")
    assert backend.inputs["securityPolicy"] == armor.state["id"]
    [throttle] = [rule for rule in armor.inputs["rules"] if rule["action"] == "throttle"]
    limits = throttle["rateLimitOptions"]
    assert (limits["enforceOnKey"], limits["exceedAction"]) == ("IP", "deny(429)")
    assert limits["rateLimitThreshold"] == {"count": 1200, "intervalSec": 60}  # edge_requests_per_minute


@pytest.mark.parametrize("stack", STACKS)
def test_servers_are_internal_and_only_the_gateway_may_invoke_them(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    member = f"serviceAccount:{gateway_email(run)}"
    invokers = {(g.inputs["name"], g.inputs["member"], g.inputs["role"]) for g in run.of_type(INVOKER)}
    for server in SERVERS:
        service = run.named(RUN_SERVICE, f"{server}-service").inputs
        assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
        assert service["template"]["vpcAccess"]["egress"] == "ALL_TRAFFIC"
        granted = {m for name, m, role in invokers if name == service["name"] and role == "roles/run.invoker"}
        assert granted == {member}
    gateway_service = gateway(run)
    assert gateway_service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    # allUsers only on the gateway, which ingress keeps to the load balancer and the VPC
    assert {name for name, m, _ in invokers if m == "allUsers"} == {gateway_service["name"]}


@pytest.mark.parametrize("stack", STACKS)
def test_internal_urls_are_reached_through_the_vpc(runs: dict[str, ProgramRun], stack: str) -> None:
    """Calls to an internal run.app URL count as internal only when they leave through the VPC
    with Private Google Access; the internet is then reached through Cloud NAT."""
    run = runs[stack]
    subnet = run.one("gcp:compute/subnetwork:Subnetwork")
    assert subnet.inputs["privateIpGoogleAccess"] is True
    nat = run.one("gcp:compute/routerNat:RouterNat").inputs
    assert nat["subnetworks"] == [{"name": subnet.state["id"], "sourceIpRangesToNats": ["ALL_IP_RANGES"]}]
    [interface] = gateway(run)["template"]["vpcAccess"]["networkInterfaces"]
    assert interface["subnetwork"] == subnet.state["id"]
    assert gateway(run)["template"]["vpcAccess"]["egress"] == "ALL_TRAFFIC"


@pytest.mark.parametrize("stack", STACKS)
def test_gateway_routes_name_each_servers_internal_url_with_google_id_tokens(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    plain, _ = env_of(gateway(run), "gateway")
    routes = json.loads(plain["GATEWAY_ROUTES"])
    uri = {server: run.named(RUN_SERVICE, f"{server}-service").state["uri"] for server in SERVERS}
    for server in SERVERS:
        assert uri[server] == run_uri(f"{stack}-mcp-{server}")  # its own https run.app URL
    assert routes == {
        "notes": {
            "upstream": uri["notes"],
            "path": "/mcp",
            "scopes": ["notes:read", "notes:write"],
            "sticky": False,
            "discovery": "none",
            "auth": "google-id-token",
        },
        "tools": {
            "upstream": uri["tools"],
            "path": "/mcp",
            "scopes": [],
            "sticky": False,
            "discovery": "none",
            "auth": "google-id-token",
        },
    }
    assert plain["GATEWAY_PUBLIC_URL"] == "https://mcp.example.com"
    assert plain["GATEWAY_ISSUER"] == "https://mcp.example.com/gateway"
    assert plain["AUTH_ISSUER"] == "https://login.example.com/"
    assert "AUTH_AUDIENCE" not in plain  # each route's own URL
    assert plain["REDIS_KEY_PREFIX"] == "gateway:"


@pytest.mark.parametrize("stack", STACKS)
def test_the_signing_key_and_redis_url_are_secrets_by_reference(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    plain, refs = env_of(gateway(run), "gateway")
    assert {env: ref["secret"] for env, ref in refs.items()} == {
        "GATEWAY_SIGNING_KEY": f"{stack}-mcp-gateway-gateway-signing-key",
        "REDIS_URL": f"{stack}-mcp-gateway-redis-url",
    }
    assert all(ref["version"] == "1" for ref in refs.values())
    key = run.one("tls:index/privateKey:PrivateKey")
    assert (key.inputs["algorithm"], key.inputs["ecdsaCurve"]) == ("ECDSA", "P256")
    version = run.named("gcp:secretmanager/secretVersion:SecretVersion", "mcp-gateway-gateway-signing-key")
    assert "secretData" in version.secret_inputs
    assert key.urn in version.property_dependencies["secretData"]
    text = json.dumps(plain)
    for leak in ("PRIVATE KEY", "rediss://", "mock-memorystore-auth"):
        assert leak not in text


@pytest.mark.parametrize("stack", STACKS)
def test_the_gateway_waits_for_its_secrets_grants_and_every_server(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    service = run.named(RUN_SERVICE, "mcp-gateway")
    waits = transitive_dependencies(run, service)
    needed = [
        *(
            r
            for r in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
            if r.name.startswith("mcp-gateway")
        ),
        *(
            r
            for r in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
            if r.name.startswith("mcp-gateway")
        ),
        *(run.named(RUN_SERVICE, f"{server}-service") for server in SERVERS),
        *(run.named(INVOKER, f"{server}-invoker") for server in SERVERS),
        run.one("gcp:redis/instance:Instance"),
        run.one("gcp:compute/routerNat:RouterNat"),
    ]
    assert len(needed) == 2 + 2 + 2 + 2 + 2
    for resource in needed:
        assert resource.urn in waits, resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_the_gateway_scales_from_its_spec_with_affinity_and_its_own_account(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    template = gateway(run)["template"]
    assert template["scaling"] == {"minInstanceCount": 2, "maxInstanceCount": 6}
    assert template["sessionAffinity"] is True
    assert template["serviceAccount"] == gateway_email(run)
    assert [c["name"] for c in template["containers"]] == ["gateway", "collector"]
    container = container_of(gateway(run), "gateway")
    assert container["ports"] == {"containerPort": 8080}
    assert container["startupProbe"]["httpGet"] == {"path": "/ready", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert f"/{stack}-mcp-images/gateway@sha256:" in container["image"]  # by digest
    build = run.named("docker:index/image:Image", "mcp-gateway-image-build").inputs
    assert build["build"]["dockerfile"].endswith("gateway/Dockerfile")
    assert f"/{stack}-mcp-images/gateway:" in build["imageName"]
    # its collector scrapes the gateway's own /metrics over localhost into Managed Prometheus
    collector = container_of(gateway(run), "collector")
    assert "ports" not in collector
    assert [e["name"] for e in collector["envs"]] == ["OTELCOL_CONFIG"]
    config = json.loads(collector["envs"][0]["value"])
    [scrape] = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["static_configs"] == [
        {"targets": ["localhost:8080"], "labels": {"mcp_platform": f"{stack}-mcp", "mcp_service": "gateway"}}
    ]
    assert "PRIVATE KEY" not in collector["envs"][0]["value"]


@pytest.mark.parametrize("stack", STACKS)
def test_our_server_trusts_the_gateways_tokens(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    plain, _ = env_of(run.named(RUN_SERVICE, "notes-service").inputs, "server")
    assert plain["AUTH_ISSUER"] == "https://mcp.example.com/gateway"
    assert plain["AUTH_AUDIENCE"] == "https://mcp.example.com/notes/mcp"
    # the gateway's deterministic internal URL: https://<service>-<project number>.<region>.run.app
    region = {"dev": "us-central1", "prod": "europe-west1"}[stack]
    assert plain["AUTH_JWKS_URL"] == (
        f"https://{gateway(run)['name']}-123456789012.{region}.run.app/.well-known/jwks.json"
    )
    assert "AUTH_JWKS_ALLOW_HTTP" not in plain


def test_a_server_may_not_take_the_gateways_name() -> None:
    run = run_gcp("dev", overrides={"gcp-fixture:toolsName": "gateway"})
    assert "server 'gateway': the platform uses that name" in str(run.error)
    assert not [r for r in run.resources if r.name.startswith("gateway")]
