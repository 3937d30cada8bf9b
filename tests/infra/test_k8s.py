"""target: kubernetes through the library: a platform and two servers (tests/fixtures/k8s_program),
run under mocks. Every manifest is validated offline: core objects against the Kubernetes
OpenAPI schemas, custom resources against their CRDs' published schemas (tests/infra/crds),
both strictly (an unknown field fails)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.harness import mocks
from tests.harness.monitor import Registration
from tests.harness.program import ProgramRun, run_program
from tests.infra import crds

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "k8s_program"
KUBERNETES_VERSION = "1.33.0"
NOT_MANIFESTS = {"kubernetes:helm.sh/v3:Release"}  # the provider renders the chart itself
TARGET = "kubernetes"


def run_fixture(stack: str = "one", **overrides: Any) -> ProgramRun:
    secret = overrides.pop("secret_overrides", None)
    values = {
        key: json.dumps(value) if isinstance(value, dict) else value for key, value in overrides.items()
    }
    run = run_program(
        path=FIXTURE / f"Pulumi.{stack}.yaml",
        program=FIXTURE / "__main__.py",
        overrides=values,
        secret_overrides=secret,
    )
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_fixture()


def manifests(run: ProgramRun) -> list[Registration]:
    return [r for r in run.resources if r.type.startswith("kubernetes:") and r.type not in NOT_MANIFESTS]


def of_kind(run: ProgramRun, kind: str) -> list[Registration]:
    return [r for r in manifests(run) if r.type.endswith(f":{kind}")]


def named(run: ProgramRun, kind: str, name: str) -> Registration:
    [found] = [r for r in of_kind(run, kind) if r.name == name]
    return found


def container(run: ProgramRun, server: str) -> dict[str, Any]:
    return named(run, "Deployment", f"{server}-server").inputs["spec"]["template"]["spec"]["containers"][0]


# --- offline schema validation -------------------------------------------------------------


def test_every_manifest_validates_strictly(run: ProgramRun) -> None:
    custom, core = set(), 0
    for registration in manifests(run):
        document = registration.inputs
        if crds.known(document["apiVersion"], document["kind"]):
            crds.validate(document)
            custom.add(document["kind"])
        else:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
            core += 1
    assert core >= 25
    assert custom == {
        "Cluster", "Database", "DatabaseRole", "Certificate", "ClusterIssuer", "Gateway", "HTTPRoute",
        "ServiceMonitor", "PodMonitor", "PrometheusRule",
    }  # fmt: skip


def test_a_misspelled_field_fails_validation(run: ProgramRun) -> None:
    gateway = json.loads(json.dumps(named(run, "Gateway", "mcp-gateway").inputs))
    gateway["spec"]["listeners"][0]["hostnme"] = gateway["spec"]["listeners"][0].pop("hostname")
    with pytest.raises(jsonschema.ValidationError, match="hostnme"):
        crds.validate(gateway)
    cluster = json.loads(json.dumps(named(run, "Cluster", "mcp-postgres").inputs))
    cluster["spec"]["storage"]["sise"] = "1Gi"
    with pytest.raises(jsonschema.ValidationError, match="sise"):
        crds.validate(cluster)
    broken = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"prots": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_fields_the_crd_keeps_unknown_stay_open() -> None:
    schema = crds.strict({"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    jsonschema.validate({"anything": 1}, schema)
    closed = crds.strict({"type": "object", "properties": {"a": {"type": "string"}}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"b": "x"}, closed)


# --- one platform, two servers --------------------------------------------------------------


def test_one_postgres_cluster_one_database_for_the_server_that_asked(run: ProgramRun) -> None:
    [cluster] = of_kind(run, "Cluster")
    assert cluster.inputs["spec"]["enableSuperuserAccess"] is False
    [database] = of_kind(run, "Database")
    # notes' own role, and the restore drill's, which may create (only) its scratch databases.
    roles = {r.name: r for r in of_kind(run, "DatabaseRole")}
    assert {name: r.inputs["spec"]["name"] for name, r in roles.items()} == {
        "notes-postgres-role": "notes",
        "mcp-drill-role": "mcp_drill",
    }
    assert (database.inputs["spec"]["name"], database.inputs["spec"]["owner"]) == ("notes", "notes")
    assert database.inputs["spec"]["cluster"] == {"name": cluster.inputs["metadata"]["name"]}
    for role in roles.values():
        assert role.inputs["spec"]["cluster"] == {"name": cluster.inputs["metadata"]["name"]}
        assert role.inputs["spec"]["login"] is True
        assert "superuser" not in role.inputs["spec"]
        password = role.inputs["spec"]["passwordSecret"]["name"]
        [role_secret] = [r for r in of_kind(run, "Secret") if r.state["metadata"]["name"] == password]
        assert role_secret.urn in role.dependencies
        assert role_secret.inputs["type"] == "kubernetes.io/basic-auth"
        assert "stringData" in role_secret.secret_inputs
    assert "createdb" not in roles["notes-postgres-role"].inputs["spec"]
    assert roles["mcp-drill-role"].inputs["spec"]["createdb"] is True
    assert len(of_kind(run, "StatefulSet")) == 1  # one shared Redis


def test_the_prebuilt_server_is_deployed_on_its_own_port_and_health_path(run: ProgramRun) -> None:
    tools = container(run, "tools")
    assert tools["image"].startswith("ghcr.io/acme/tools@sha256:")
    assert "args" not in tools
    assert "command" not in tools
    assert tools["ports"] == [{"name": "http", "containerPort": 3000}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert tools[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    service = named(run, "Service", "tools-server").inputs["spec"]
    assert service["ports"] == [{"name": "http", "port": 3000, "targetPort": "http"}]
    policy = named(run, "NetworkPolicy", "tools-server").inputs["spec"]
    assert policy["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "one-mcp-gateway"}}}],
            "ports": [{"protocol": "TCP", "port": 3000}],
        }
    ]
    # no database, no Redis: no way to them either
    assert all(5432 not in _ports(rule) and 6379 not in _ports(rule) for rule in policy["egress"])


def _ports(rule: dict[str, Any]) -> set[int]:
    return {port["port"] for port in rule.get("ports", [])}


def test_secrets_arrive_by_reference_never_as_values(run: ProgramRun) -> None:
    env = {e["name"]: e for e in container(run, "tools")["env"]}
    secret = named(run, "Secret", "tools-env")
    assert env["API_KEY"] == {
        "name": "API_KEY",
        "valueFrom": {"secretKeyRef": {"name": secret.state["metadata"]["name"], "key": "API_KEY"}},
    }
    assert "stringData" in secret.secret_inputs
    notes = {e["name"]: e for e in container(run, "notes")["env"]}
    for name in ("DATABASE_URL", "REDIS_URL", "MCP_REQUEST_STATE_KEY"):
        assert "value" not in notes[name], name
    assert notes["MCP_PORT"] == {"name": "MCP_PORT", "value": "8000"}
    assert notes["REDIS_KEY_PREFIX"] == {"name": "REDIS_KEY_PREFIX", "value": "notes:"}


def test_our_server_keeps_its_contract(run: ProgramRun) -> None:
    notes = container(run, "notes")
    assert notes["args"] == ["serve"]
    assert notes["image"].startswith("registry.example.com/acme@sha256:")
    assert notes["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert notes["livenessProbe"]["httpGet"]["path"] == "/health"
    pod = named(run, "Deployment", "notes-server").inputs["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001
    assert (
        "runAsUser"
        not in named(run, "Deployment", "tools-server").inputs["spec"]["template"]["spec"]["securityContext"]
    )


def test_database_url_verifies_the_cluster_ca(run: ProgramRun) -> None:
    secret = named(run, "Secret", "notes-env").inputs["stringData"]
    url = secret["DATABASE_URL"]
    assert url.startswith("postgresql://notes:")
    assert "@one-mcp-postgres-rw.mcp.svc:5432/notes?sslmode=verify-full&sslrootcert=" in url
    pod = named(run, "Deployment", "notes-server").inputs["spec"]["template"]["spec"]
    [ca] = [v for v in pod["volumes"] if v["name"] == "postgres-ca"]
    assert ca["secret"]["secretName"] == "one-mcp-postgres-ca"


def test_the_gateway_api_entry_terminates_tls_for_the_domain(run: ProgramRun) -> None:
    gateway = named(run, "Gateway", "mcp-gateway").inputs["spec"]
    assert gateway["gatewayClassName"] == "eg"
    https = gateway["listeners"][0]
    assert (https["protocol"], https["port"], https["hostname"]) == ("HTTPS", 443, "mcp.example.com")
    assert https["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "one-mcp-tls"}]
    certificate = named(run, "Certificate", "mcp-certificate").inputs["spec"]
    assert certificate["secretName"] == "one-mcp-tls"
    assert certificate["issuerRef"]["name"] == "one-mcp-letsencrypt"


def test_only_servers_that_asked_are_backed_up(run: ProgramRun) -> None:
    [patch] = run.of_type("kubernetes:core/v1:SecretPatch")
    assert patch.name == "notes-backup-url"
    assert set(patch.inputs["data"]) == {"PG_URL_NOTES"}
    assert "data" in patch.secret_inputs
    crons = {c.name: c for c in of_kind(run, "CronJob")}
    assert set(crons) == {"mcp-backup", "mcp-drill"}
    jobs = {
        name: c.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        for name, c in crons.items()
    }
    [job] = jobs["mcp-backup"]
    assert job["args"] == ["dump"]
    assert job["envFrom"] == [{"secretRef": {"name": patch.inputs["metadata"]["name"]}}]
    assert job["env"] == [{"name": "BACKUP_URL", "value": "s3://acme-backups/mcp"}]
    assert job["image"].startswith("registry.example.com/acme@sha256:")
    # The drill restores the same servers' dumps: their URLs, plus its own role's (PG_DRILL_URL).
    [drill] = jobs["mcp-drill"]
    drill_url = named(run, "Secret", "mcp-drill-url")
    assert drill["args"] == ["drill", "--all"]
    assert drill["envFrom"] == [
        {"secretRef": {"name": patch.inputs["metadata"]["name"]}},
        {"secretRef": {"name": drill_url.state["metadata"]["name"]}},
    ]
    assert set(drill_url.inputs["stringData"]) == {"PG_DRILL_URL"}
    assert (drill["env"], drill["image"]) == (job["env"], job["image"])


def test_workloads_depend_on_what_they_read_at_start(run: ProgramRun) -> None:
    def kinds(server: str) -> set[str]:
        deployment = named(run, "Deployment", f"{server}-server")
        return {
            run.by_urn(urn).type.rsplit(":", 1)[-1] + ":" + run.by_urn(urn).name
            for urn in deployment.dependencies
        }

    notes_needs = {
        "Secret:notes-env", "Database:notes-database", "DatabaseRole:notes-postgres-role",
        "Cluster:mcp-postgres", "StatefulSet:mcp-redis", "NetworkPolicy:notes-server",
    }  # fmt: skip
    assert notes_needs <= kinds("notes")
    assert {"Secret:tools-env", "NetworkPolicy:tools-server"} <= kinds("tools")
    assert not any(k.startswith(("Database", "Cluster", "StatefulSet")) for k in kinds("tools"))
    database = named(run, "Database", "notes-database")
    assert named(run, "DatabaseRole", "notes-postgres-role").urn in database.dependencies


# --- defects ---------------------------------------------------------------------------------


@pytest.fixture
def versioned_secrets() -> Iterator[None]:
    """The API server bumps resourceVersion on every write; the default mocks have none."""
    plain = mocks.PROVIDERS["kubernetes"]

    def with_versions(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        resource_id, computed = plain(type_token, name, inputs)
        version = mocks.digest(json.dumps(inputs, sort_keys=True, default=str), length=8)
        return resource_id, {**computed, "metadata": {**computed["metadata"], "resourceVersion": version}}

    mocks.PROVIDERS["kubernetes"] = with_versions
    yield
    mocks.PROVIDERS["kubernetes"] = plain


@pytest.mark.usefixtures("versioned_secrets")
def test_defect_6_a_new_secret_value_rolls_the_pods() -> None:
    def template(api_key: str) -> dict[str, Any]:
        run = run_fixture(secret_overrides={"apiKey": api_key})
        secret = named(run, "Secret", "tools-env")
        assert "name" not in secret.inputs["metadata"]  # no fixed name to delete and re-create
        return named(run, "Deployment", "tools-server").inputs["spec"]["template"]

    before, after = template("k" * 20), template("m" * 20)
    assert before["metadata"]["annotations"] != after["metadata"]["annotations"]
    assert before["spec"] == after["spec"]  # only the rollout annotation differs


def test_defect_6_no_config_map_and_no_fixed_secret_names(run: ProgramRun) -> None:
    # The one ConfigMap is the Grafana dashboard, read by Grafana's sidecar; no pod of ours reads
    # one (a changed ConfigMap would not roll it), and it holds nothing secret.
    [dashboard] = of_kind(run, "ConfigMap")
    assert dashboard.name == "mcp-dashboard"
    assert dashboard.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert not dashboard.secret_inputs
    body = json.dumps(dashboard.inputs["data"])
    values = [v for r in of_kind(run, "Secret") for v in (r.inputs.get("stringData") or {}).values()]
    assert len(values) >= 10
    assert not [v for v in values if len(v) >= 8 and v in body]
    for workload in (*of_kind(run, "Deployment"), *of_kind(run, "StatefulSet"), *of_kind(run, "CronJob")):
        assert "configMap" not in json.dumps(workload.inputs["spec"]), workload.name
    # Every Secret a workload or role reads has a provider-made name: a new value is a new Secret.
    # (mcp-backup-urls keeps its name: each server patches its URL into it, by that name.)
    referenced = {r.name: r for r in of_kind(run, "Secret") if r.name != "mcp-backup-urls"}
    assert set(referenced) == {
        "notes-env", "tools-env", "mcp-gateway-env", "mcp-redis", "notes-postgres-role",
        "mcp-drill-role", "mcp-drill-url",
    }  # fmt: skip
    assert all("name" not in r.inputs["metadata"] for r in referenced.values())


def test_defect_7_redis_evicts_before_its_memory_limit(run: ProgramRun) -> None:
    [redis] = of_kind(run, "StatefulSet")
    redis_container = redis.inputs["spec"]["template"]["spec"]["containers"][0]
    script = redis_container["args"][-1]
    assert "--maxmemory-policy allkeys-lru" in script
    maxmemory = int(script.split("--maxmemory ")[1].split("mb")[0])
    limit = int(redis_container["resources"]["limits"]["memory"].removesuffix("Mi"))
    assert 0.5 * limit <= maxmemory < limit


def _physical_names(run: ProgramRun) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of every object with a fixed name; provider-named ones (no name
    in the inputs) get a random suffix and cannot collide."""
    names = set()
    for r in manifests(run):
        metadata = r.inputs.get("metadata") or {}
        if "name" in metadata:
            kind = r.type.rsplit(":", 1)[-1].removesuffix("Patch")
            names.add((kind, metadata.get("namespace", ""), metadata["name"]))
    return names


def test_names_two_servers_in_one_namespace_do_not_collide(run: ProgramRun) -> None:
    servers = [r for r in manifests(run) if r.parent and run.by_urn(r.parent).type == "mcp-deploy:k8s:Server"]
    fixed = [
        (r.type, r.inputs["metadata"]["name"])
        for r in servers
        if "name" in r.inputs.get("metadata", {}) and not r.type.endswith("Patch")
    ]
    assert len(fixed) == len(set(fixed))
    assert {name for _, name in fixed} == {
        "one-mcp-notes", "one-mcp-tools", "one-mcp-notes-slo", "one-mcp-tools-slo",
    }  # fmt: skip


def test_names_two_stacks_in_one_cluster_and_namespace_share_only_the_namespace() -> None:
    one, two = run_fixture("one"), run_fixture("two", platform={"install_cnpg": False})
    shared = _physical_names(one) & _physical_names(two)
    # Both stacks create the namespace they were told to use; see the README on sharing one.
    assert shared == {("Namespace", "", "mcp")}
    issuers = {r.inputs["metadata"]["name"] for run in (one, two) for r in of_kind(run, "ClusterIssuer")}
    assert issuers == {"one-mcp-letsencrypt", "two-mcp-letsencrypt"}


def test_image_tags_name_the_context_and_hash_all_of_it(run: ProgramRun, tmp_path: Path) -> None:
    from mcp_deploy.image import image_tag

    images = {r.name: r.inputs for r in run.of_type("docker:index/image:Image")}
    assert (
        images["notes-image-build"]["imageName"] == f"registry.example.com/acme:{image_tag(Path('server'))}"
    )
    assert (
        images["mcp-backup-image-build"]["imageName"]
        == f"registry.example.com/acme:{image_tag(Path('backup'))}"
    )
    assert images["mcp-backup-image-build"]["build"]["context"] == "backup"
    context = tmp_path / "tools"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    first = image_tag(context)
    (context / "README.md").write_text("any file the builder sends changes the tag\n")
    assert image_tag(context) != first
    assert first.startswith("tools-")


# --- options ---------------------------------------------------------------------------------


def test_plain_ingress_entry_has_no_gateway_and_only_ingress_nginx_stream_timeouts() -> None:
    run = run_fixture(platform={"entry": "ingress", "ingress_class": "traefik"})
    assert of_kind(run, "Gateway") == []
    assert of_kind(run, "HTTPRoute") == []
    [ingress] = [r.inputs for r in of_kind(run, "Ingress")]
    # Inert on other controllers (test_k8s_review.py checks their values).
    assert set(ingress["metadata"]["annotations"]) == {
        "nginx.ingress.kubernetes.io/proxy-read-timeout",
        "nginx.ingress.kubernetes.io/proxy-send-timeout",
    }
    assert ingress["spec"]["ingressClassName"] == "traefik"
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "mcp.example.com"
    assert rule["http"]["paths"] == [
        {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "one-mcp-gateway", "port": {"name": "http"}}},
        }
    ]
    solver = named(run, "ClusterIssuer", "mcp-issuer").inputs["spec"]["acme"]["solvers"][0]["http01"]
    assert solver == {"ingress": {"ingressClassName": "traefik"}}
    for registration in manifests(run):
        if crds.known(registration.inputs["apiVersion"], registration.inputs["kind"]):
            crds.validate(registration.inputs)
        else:
            kubernetes_validate.validate(registration.inputs, KUBERNETES_VERSION, strict=True)


def test_without_a_backup_url_there_is_no_job_and_no_server_entry() -> None:
    run = run_fixture(platform={"backup_url": None})
    assert of_kind(run, "CronJob") == []
    assert run.of_type("kubernetes:core/v1:SecretPatch") == []
    images = sorted(r.name for r in run.of_type("docker:index/image:Image"))
    assert images == ["mcp-gateway-image-build", "notes-image-build"]
