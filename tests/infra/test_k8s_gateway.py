"""target: kubernetes, the gateway (issue #12): the one public service of the platform. The entry
routes everything for the domain to the gateway's Service and nothing to a server; servers admit
only the gateway's pods; the gateway is configured per the contract in gateway/ (routes,
issuer, signing key and Redis by reference) and waits for the servers it forwards to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import mocks
from tests.harness.monitor import Registration
from tests.harness.program import ProgramRun, run_program
from tests.infra.test_k8s import FIXTURE, container, named, of_kind, run_fixture

GATEWAY_PODS = {"app.kubernetes.io/instance": "one-mcp-gateway"}
SERVER_SERVICES = {"one-mcp-notes", "one-mcp-tools", "one-mcp-tools-pods"}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_fixture()


@pytest.fixture(scope="module")
def sticky() -> ProgramRun:
    return run_fixture(stickyTools="true")


def env(run: ProgramRun, deployment: str) -> dict[str, dict[str, Any]]:
    [found] = named(run, "Deployment", deployment).inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in found["env"]}


def routes(run: ProgramRun) -> dict[str, Any]:
    return json.loads(env(run, "mcp-gateway")["GATEWAY_ROUTES"]["value"])


def backends(registration: Registration) -> set[str]:
    """Every Service an HTTPRoute or Ingress sends to."""
    spec = registration.inputs["spec"]
    if registration.inputs["kind"] == "HTTPRoute":
        return {ref["name"] for rule in spec["rules"] for ref in rule.get("backendRefs", [])}
    return {
        path["backend"]["service"]["name"] for rule in spec["rules"] for path in rule["http"]["paths"]
    } | ({spec["defaultBackend"]["service"]["name"]} if "defaultBackend" in spec else set())


# --- the one public route ---------------------------------------------------------------------


def test_the_one_public_route_sends_everything_to_the_gateway_service(run: ProgramRun) -> None:
    public = [
        r for r in of_kind(run, "HTTPRoute") if r.inputs["spec"]["parentRefs"][0]["sectionName"] == "https"
    ]
    assert [r.name for r in public] == ["mcp-route"]
    spec = public[0].inputs["spec"]
    assert spec["hostnames"] == ["mcp.example.com"]
    *private, everything = spec["rules"]
    assert everything["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    gateway_service = named(run, "Service", "mcp-gateway").inputs
    assert everything["backendRefs"] == [{"name": gateway_service["metadata"]["name"], "port": 8080}]
    assert gateway_service["spec"]["type"] == "ClusterIP"
    assert gateway_service["spec"]["selector"] == GATEWAY_PODS
    # The gateway's private paths match exactly (outranking "/") and go nowhere.
    assert [rule["matches"][0]["path"] for rule in private] == [
        {"type": "Exact", "value": "/.well-known/jwks.json"},
        {"type": "Exact", "value": "/metrics"},
    ]
    assert all("backendRefs" not in rule and "filters" not in rule for rule in private)


@pytest.mark.parametrize(
    "entry", [{}, {"entry": "ingress", "ingress_class": "nginx"}], ids=["gateway-api", "ingress"]
)
def test_no_route_or_ingress_names_a_server_service(entry: dict[str, str]) -> None:
    run = run_fixture(platform=entry, stickyTools="true")
    services = {r.inputs["metadata"]["name"] for r in of_kind(run, "Service")}
    assert services >= SERVER_SERVICES
    public = [*of_kind(run, "HTTPRoute"), *of_kind(run, "Ingress")]
    assert public
    named_backends = set().union(*(backends(r) for r in public))
    assert named_backends == {"one-mcp-gateway"}
    assert not any(r.name.startswith(("notes-", "tools-")) for r in public)


def test_server_services_are_cluster_internal(sticky: ProgramRun) -> None:
    for registration in of_kind(sticky, "Service"):
        assert registration.inputs["spec"].get("type", "ClusterIP") == "ClusterIP", registration.name


# --- servers admit only the gateway ------------------------------------------------------------


def test_server_policies_admit_only_the_gateway_pods_on_the_server_port(run: ProgramRun) -> None:
    gateway_labels = named(run, "Deployment", "mcp-gateway").inputs["spec"]["template"]["metadata"]["labels"]
    for server, port in (("notes", 8000), ("tools", 3000)):
        policy = named(run, "NetworkPolicy", f"{server}-server").inputs["spec"]
        [rule] = policy["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]
        pods = [peer for peer in rule["from"] if "podSelector" in peer]
        assert [peer["podSelector"]["matchLabels"] for peer in pods] == [GATEWAY_PODS]
        assert GATEWAY_PODS.items() <= gateway_labels.items()  # the selector really picks the gateway
        others = [peer for peer in rule["from"] if "podSelector" not in peer]
        # Only Prometheus besides, and only for our server, which serves /metrics.
        expected = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
        assert others == (expected if server == "notes" else [])
        assert "envoy-gateway-system" not in json.dumps(policy)


def test_only_the_gateway_admits_the_entry(run: ProgramRun) -> None:
    entry_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}
    }
    admitting = {
        r.name
        for r in of_kind(run, "NetworkPolicy")
        if any(entry_peer in rule.get("from", []) for rule in r.inputs["spec"].get("ingress", []))
    }
    assert admitting == {"mcp-gateway", "mcp-acme-solver"}
    policy = named(run, "NetworkPolicy", "mcp-gateway").inputs["spec"]
    assert policy["podSelector"] == {"matchLabels": GATEWAY_PODS}
    [rule] = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    # In: the entry, our server (for the gateway's JWKS) and Prometheus.
    assert rule["from"] == [
        entry_peer,
        {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "one-mcp-notes"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
    ]
    to_servers = {
        (peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"], port["port"])
        for out in policy["egress"]
        for peer in out.get("to", [])
        if "podSelector" in peer
        for port in out["ports"]
    }
    assert {("one-mcp-notes", 8000), ("one-mcp-tools", 3000)} <= to_servers


# --- the gateway's configuration ----------------------------------------------------------------


def test_gateway_routes_name_each_server_by_its_private_service(run: ProgramRun) -> None:
    assert routes(run) == {
        "notes": {
            "upstream": "http://one-mcp-notes.mcp.svc:8000",
            "path": "/mcp",
            "scopes": ["notes:read", "notes:write"],
            "sticky": False,
            "discovery": "none",
        },
        "tools": {
            "upstream": "http://one-mcp-tools.mcp.svc:3000",
            "path": "/mcp",
            "scopes": [],
            "sticky": False,
            "discovery": "none",
        },
    }
    plain = {name: e.get("value") for name, e in env(run, "mcp-gateway").items()}
    assert plain["GATEWAY_PUBLIC_URL"] == "https://mcp.example.com"
    assert plain["GATEWAY_ISSUER"] == "https://mcp.example.com/gateway"
    assert plain["AUTH_ISSUER"] == "https://auth.example.com/"
    assert plain["GATEWAY_PORT"] == "8080"
    assert plain["REDIS_KEY_PREFIX"] == "gateway:"
    assert "AUTH_AUDIENCE" not in plain


def test_gateway_size_origins_and_limits_come_from_the_platform_args() -> None:
    run = run_fixture(
        gateway={
            "min_replicas": 3,
            "max_replicas": 9,
            "cpu": 1024,
            "memory": 512,
            "allowed_origins": ["https://app.example.com"],
            "rate_limit_per_minute": 90,
        }
    )
    deployment = named(run, "Deployment", "mcp-gateway").inputs["spec"]
    [gateway] = deployment["template"]["spec"]["containers"]
    assert deployment["replicas"] == 3
    assert gateway["resources"]["requests"] == {"cpu": "1000m", "memory": "512Mi"}
    hpa = named(run, "HorizontalPodAutoscaler", "mcp-gateway").inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 9)
    assert hpa["scaleTargetRef"]["name"] == "one-mcp-gateway"
    plain = {e["name"]: e.get("value") for e in gateway["env"]}
    assert plain["GATEWAY_ALLOWED_ORIGINS"] == "https://app.example.com"
    assert plain["RATE_LIMIT_PER_MINUTE"] == "90"


def test_signing_key_and_redis_url_arrive_by_reference(run: ProgramRun) -> None:
    secret = named(run, "Secret", "mcp-gateway-env")
    assert "name" not in secret.inputs["metadata"]  # provider-named: a change is a new name
    assert "stringData" in secret.secret_inputs
    assert set(secret.inputs["stringData"]) == {"GATEWAY_SIGNING_KEY", "REDIS_URL"}
    found = env(run, "mcp-gateway")
    for name in ("GATEWAY_SIGNING_KEY", "REDIS_URL"):
        assert found[name] == {
            "name": name,
            "valueFrom": {"secretKeyRef": {"name": secret.state["metadata"]["name"], "key": name}},
        }
    [key] = run.of_type("tls:index/privateKey:PrivateKey")
    assert (key.inputs["algorithm"], key.inputs["ecdsaCurve"]) == ("ECDSA", "P256")
    assert key.urn in secret.dependencies or key.urn in {
        u for urns in secret.property_dependencies.values() for u in urns
    }
    # The gateway may reach Redis: it carries the label the Redis policy admits.
    labels = named(run, "Deployment", "mcp-gateway").inputs["spec"]["template"]["metadata"]["labels"]
    assert labels["mcp-deploy.io/redis-client"] == "one-mcp"


def test_without_redis_the_gateway_gets_no_redis_settings() -> None:
    run = run_fixture(onlyTools="true")
    assert set(named(run, "Secret", "mcp-gateway-env").inputs["stringData"]) == {"GATEWAY_SIGNING_KEY"}
    found = env(run, "mcp-gateway")
    assert "REDIS_URL" not in found
    assert "REDIS_KEY_PREFIX" not in found
    assert set(routes(run)) == {"tools"}


def test_the_gateway_pods_are_hardened_and_probed_on_their_port(run: ProgramRun) -> None:
    pod = named(run, "Deployment", "mcp-gateway").inputs["spec"]["template"]["spec"]
    [gateway] = pod["containers"]
    assert gateway["image"].startswith("registry.example.com/acme@sha256:")
    assert gateway["ports"] == [{"name": "http", "containerPort": 8080}]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert gateway["securityContext"]["readOnlyRootFilesystem"] is True
    assert gateway["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == named(run, "ServiceAccount", "mcp-gateway").inputs["metadata"]["name"]
    pdb = named(run, "PodDisruptionBudget", "mcp-gateway").inputs["spec"]
    assert pdb["selector"] == {"matchLabels": GATEWAY_PODS}


def test_the_gateway_image_is_built_from_its_dockerfile(run: ProgramRun) -> None:
    [image] = [r for r in run.of_type("docker:index/image:Image") if r.name == "mcp-gateway-image-build"]
    assert image.inputs["build"]["dockerfile"] == "gateway/Dockerfile"
    assert image.inputs["build"]["context"] == "."  # the Dockerfile copies server/ as well
    assert image.inputs["imageName"].startswith("registry.example.com/acme:")


def test_the_gateway_waits_for_the_servers_it_forwards_to(run: ProgramRun) -> None:
    deployment = named(run, "Deployment", "mcp-gateway")
    waits = {
        run.by_urn(u).type.rsplit(":", 1)[-1] + ":" + run.by_urn(u).name for u in deployment.dependencies
    }
    assert {
        "Deployment:notes-server",
        "Deployment:tools-server",
        "Service:notes-server",
        "Service:tools-server",
    } <= waits
    assert {"Secret:mcp-gateway-env", "NetworkPolicy:mcp-gateway", "StatefulSet:mcp-redis"} <= waits


@pytest.fixture
def versioned_secrets() -> Any:
    plain = mocks.PROVIDERS["kubernetes"]

    def with_versions(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        resource_id, computed = plain(type_token, name, inputs)
        version = mocks.digest(json.dumps(inputs, sort_keys=True, default=str), length=8)
        return resource_id, {**computed, "metadata": {**computed["metadata"], "resourceVersion": version}}

    mocks.PROVIDERS["kubernetes"] = with_versions
    yield
    mocks.PROVIDERS["kubernetes"] = plain


@pytest.mark.usefixtures("versioned_secrets")
def test_a_changed_gateway_secret_rolls_the_gateway() -> None:
    """A new Redis password changes REDIS_URL in the gateway's Secret: the pod template changes."""

    def template() -> dict[str, Any]:
        return named(run_fixture(), "Deployment", "mcp-gateway").inputs["spec"]["template"]

    before = template()
    plain = mocks.PROVIDERS["random"]

    def other_password(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if name == "mcp-redis-password":
            return "none", {"result": "another-password"}
        return plain(type_token, name, inputs)

    mocks.PROVIDERS["random"] = other_password
    try:
        after = template()
    finally:
        mocks.PROVIDERS["random"] = plain
    assert before["metadata"]["annotations"] != after["metadata"]["annotations"]
    assert before["spec"] == after["spec"]  # the same references; only the annotation differs


# --- servers behind the gateway ----------------------------------------------------------------


def test_our_server_trusts_the_gateway_tokens(run: ProgramRun) -> None:
    notes = {e["name"]: e.get("value") for e in container(run, "notes")["env"]}
    assert notes["AUTH_ISSUER"] == "https://mcp.example.com/gateway"
    assert notes["AUTH_JWKS_URL"] == "http://one-mcp-gateway.mcp.svc:8080/.well-known/jwks.json"
    assert notes["AUTH_JWKS_ALLOW_HTTP"] == "true"
    assert notes["AUTH_AUDIENCE"] == "https://mcp.example.com/notes/mcp"
    assert notes["MCP_PUBLIC_URL"] == "https://mcp.example.com/notes/mcp"
    # ... and may reach the gateway's JWKS, and waits for the Service that names it.
    egress = named(run, "NetworkPolicy", "notes-server").inputs["spec"]["egress"]
    assert {
        "to": [{"podSelector": {"matchLabels": GATEWAY_PODS}}],
        "ports": [{"protocol": "TCP", "port": 8080}],
    } in egress
    assert named(run, "Service", "mcp-gateway").urn in named(run, "Deployment", "notes-server").dependencies
    tools = {e["name"] for e in container(run, "tools")["env"]}
    assert not tools & {"AUTH_JWKS_URL", "AUTH_JWKS_ALLOW_HTTP"}


def test_a_sticky_server_is_reached_through_its_headless_service(sticky: ProgramRun) -> None:
    headless = named(sticky, "Service", "tools-pods").inputs
    assert headless["metadata"]["name"] == "one-mcp-tools-pods"
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == {"app.kubernetes.io/instance": "one-mcp-tools"}
    assert headless["spec"]["ports"] == [{"name": "http", "port": 3000, "targetPort": "http"}]
    tools = routes(sticky)["tools"]
    assert tools["upstream"] == "http://one-mcp-tools-pods.mcp.svc:3000"
    assert (tools["sticky"], tools["discovery"]) == (True, "dns")
    # The gateway pins sessions itself: no kube-proxy affinity, which would pin gateway pods.
    assert "sessionAffinity" not in named(sticky, "Service", "tools-server").inputs["spec"]
    gateway = named(sticky, "Deployment", "mcp-gateway")
    assert named(sticky, "Service", "tools-pods").urn in gateway.dependencies


def test_a_stateless_server_has_no_headless_service(run: ProgramRun) -> None:
    names = {r.inputs["metadata"]["name"] for r in of_kind(run, "Service")}
    assert not any(n.endswith("-pods") for n in names)


def test_a_server_cannot_take_the_gateway_name() -> None:
    run = run_program(
        path=FIXTURE / "Pulumi.one.yaml", program=FIXTURE / "__main__.py", overrides={"toolsName": "gateway"}
    )
    assert run.error is not None
    # Its objects would be named `<stack>-<platform>-gateway`, like the gateway's.
    assert "server 'gateway'" in str(run.error)
    assert not [r for r in run.resources if r.name.startswith("gateway-")]
