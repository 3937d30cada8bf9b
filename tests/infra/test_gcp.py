"""gcp-cloudrun: a GcpPlatform with two servers (tests/fixtures/gcp_program) under mocks.

`notes` is our reference server built from server/ (Postgres, Redis, backups); `tools` is a
prebuilt image on port 3000 with /healthz and one secret, and nothing else. Each property is
checked for the dev and prod stacks of the fixture; where prod must differ, it does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_deploy.gcp.platform.collector import IMAGE as COLLECTOR_IMAGE
from tests.fixtures.gcp_runs import STACKS, run_gcp
from tests.harness.mocks import MOCK_CA, MOCK_NEXT_CA
from tests.harness.program import ProgramRun

PROJECT = {"dev": "acme-mcp-dev", "prod": "acme-mcp-prod"}
REGION = {"dev": "us-central1", "prod": "europe-west1"}
RUN_SERVICE = "gcp:cloudrunv2/service:Service"
SECRET_GRANT = "gcp:secretmanager/secretIamMember:SecretIamMember"


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    result = {stack: run_gcp(stack) for stack in STACKS}
    for run in result.values():
        assert run.error is None, run.error
    return result


def service(run: ProgramRun, server: str) -> dict[str, Any]:
    return run.named(RUN_SERVICE, f"{server}-service").inputs


def containers(run: ProgramRun, server: str) -> dict[str, dict[str, Any]]:
    """A service's containers by name, in template order (the ingress container first)."""
    return {c["name"]: c for c in service(run, server)["template"]["containers"]}


def container(run: ProgramRun, server: str, name: str = "server") -> dict[str, Any]:
    return containers(run, server)[name]


def account_email(run: ProgramRun, name: str) -> str:
    return run.named("gcp:serviceaccount/account:Account", name).state["email"]


def secret_refs(env: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e["valueSource"]["secretKeyRef"] for e in env if "valueSource" in e}


@pytest.mark.parametrize("stack", STACKS)
def test_one_platform_one_instance_one_database_for_the_server_that_asked(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    for shared in (
        "gcp:compute/network:Network",
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:redis/instance:Instance",
        "gcp:artifactregistry/repository:Repository",
        "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
        "gcp:compute/securityPolicy:SecurityPolicy",
    ):
        run.one(shared)
    [database] = run.of_type("gcp:sql/database:Database")
    [user] = run.of_type("gcp:sql/user:User")
    assert (database.inputs["name"], user.inputs["name"]) == ("notes", "notes")
    instance = run.one("gcp:sql/databaseInstance:DatabaseInstance")
    assert database.inputs["instance"] == user.inputs["instance"] == instance.state["name"]
    assert "password" in user.secret_inputs
    assert sorted(r.name for r in run.of_type(RUN_SERVICE)) == [
        "mcp-gateway",
        "notes-service",
        "tools-service",
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_tools_runs_on_its_own_port_probes_and_command(runs: dict[str, ProgramRun], stack: str) -> None:
    # tools is not scraped (not our server, no metrics asked) and nothing traces: no collector
    assert list(containers(runs[stack], "tools")) == ["server"]
    tools = container(runs[stack], "tools")
    assert tools["ports"] == {"containerPort": 3000}
    assert tools["startupProbe"]["httpGet"] == {"path": "/healthz", "port": 3000}
    assert tools["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 3000}
    assert "args" not in tools  # the image's own CMD: no "serve"
    assert "commands" not in tools  # and its own entrypoint
    assert tools["image"].startswith("us-docker.pkg.dev/acme/tools/tools@sha256:")
    refs = secret_refs(tools["envs"])
    assert set(refs) == {"API_KEY"}
    assert refs["API_KEY"]["secret"] == f"{stack}-mcp-tools-api-key"
    assert refs["API_KEY"]["version"] == "1"  # pinned, not "latest"
    # no plain env at all: tools asked for none, and no Postgres or Redis
    assert [e["name"] for e in tools["envs"] if "value" in e] == []


@pytest.mark.parametrize("stack", STACKS)
def test_notes_gets_the_reference_contract_and_its_data_by_reference(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    notes = container(runs[stack], "notes")
    assert notes["ports"] == {"containerPort": 8000}
    assert notes["args"] == ["serve"]
    assert notes["startupProbe"]["httpGet"] == {"path": "/ready", "port": 8000}
    assert notes["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    refs = secret_refs(notes["envs"])
    assert {env: ref["secret"] for env, ref in refs.items()} == {
        "DATABASE_URL": f"{stack}-mcp-notes-database-url",
        "MCP_REQUEST_STATE_KEY": f"{stack}-mcp-notes-mcp-request-state-key",
        "REDIS_URL": f"{stack}-mcp-notes-redis-url",
    }
    assert all(ref["version"] == "1" for ref in refs.values())
    plain = {e["name"]: e["value"] for e in notes["envs"] if "value" in e}
    assert plain["MCP_PUBLIC_URL"] == "https://mcp.example.com/notes/mcp"
    assert plain["REDIS_KEY_PREFIX"] == "notes:"
    assert plain["REDIS_CA_CERT"] == MOCK_CA + MOCK_NEXT_CA  # every CA: a rotation must not cut Redis off
    assert not [name for name in plain if name.startswith("OTEL_")]  # tracing is off in the fixture
    text = " ".join(plain.values()).lower()
    for leak in ("postgresql://", "rediss://", "password"):
        assert leak not in text


@pytest.mark.parametrize("stack", STACKS)
def test_notes_metrics_are_scraped_by_a_collector_sidecar(runs: dict[str, ProgramRun], stack: str) -> None:
    assert list(containers(runs[stack], "notes")) == ["server", "collector"]
    collector = container(runs[stack], "notes", "collector")
    assert collector["image"] == COLLECTOR_IMAGE  # pinned
    assert "ports" not in collector  # the server is the ingress container
    assert collector["args"] == ["--config=env:OTELCOL_CONFIG"]
    assert collector["startupProbe"]["httpGet"] == {"path": "/", "port": 13133}
    assert [e["name"] for e in collector["envs"]] == ["OTELCOL_CONFIG"]
    assert secret_refs(collector["envs"]) == {}
    config = json.loads(collector["envs"][0]["value"])
    [scrape] = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["static_configs"] == [
        {"targets": ["localhost:8000"], "labels": {"mcp_platform": f"{stack}-mcp", "mcp_service": "notes"}}
    ]
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"metrics"}  # no traces pipeline: tracing is off
    assert pipelines["metrics"]["exporters"] == ["googlemanagedprometheus"]
    text = collector["envs"][0]["value"].lower()
    for leak in ("postgresql://", "rediss://", "password"):
        assert leak not in text


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_are_readable_only_by_who_needs_them(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    for version in run.of_type("gcp:secretmanager/secretVersion:SecretVersion"):
        assert "secretData" in version.secret_inputs
    readers: dict[str, set[str]] = {}
    for grant in run.of_type(SECRET_GRANT):
        assert grant.inputs["role"] == "roles/secretmanager.secretAccessor"
        readers.setdefault(grant.inputs["secretId"], set()).add(grant.inputs["member"])

    def member(account: str) -> str:
        return f"serviceAccount:{account_email(run, account)}"

    notes, tools, gateway = member("notes-account"), member("tools-account"), member("mcp-gateway")
    assert readers == {
        f"{stack}-mcp-gateway-gateway-signing-key": {gateway},
        f"{stack}-mcp-gateway-redis-url": {gateway},
        f"{stack}-mcp-notes-database-url": {notes, member("mcp-backup"), member("mcp-restore")},
        f"{stack}-mcp-notes-redis-url": {notes},
        f"{stack}-mcp-notes-mcp-request-state-key": {notes},
        f"{stack}-mcp-tools-api-key": {tools},
    }
    assert service(run, "tools")["template"]["serviceAccount"] == account_email(run, "tools-account")
    # project-wide roles only for the collectors, which have no narrower resource to write to:
    # metrics from the scraped services (notes, the gateway); tools is not scraped, nothing traces
    project_roles = run.of_type("gcp:projects/iAMMember:IAMMember")
    assert sorted(
        (m.inputs["project"], m.inputs["role"], m.inputs["member"]) for m in project_roles
    ) == sorted(
        [
            (PROJECT[stack], "roles/monitoring.metricWriter", notes),
            (PROJECT[stack], "roles/monitoring.metricWriter", gateway),
        ]
    )
    for grant, workload in (
        ("notes-collector-monitoring-metricwriter", "notes-service"),
        ("mcp-gateway-collector-monitoring-metricwriter", "mcp-gateway"),
    ):  # a revision whose collector may not write yet would lose its first metrics
        assert (
            run.named("gcp:projects/iAMMember:IAMMember", grant).urn
            in run.named(RUN_SERVICE, workload).dependencies
        )


@pytest.mark.parametrize("stack", STACKS)
def test_https_only_with_managed_certificate_and_modern_tls(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    certificate = run.one("gcp:compute/managedSslCertificate:ManagedSslCertificate")
    assert certificate.inputs["managed"]["domains"] == ["mcp.example.com"]
    assert certificate.delete_before_replace is False  # the proxy holds it; replaced create-first
    policy = run.one("gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert (policy["profile"], policy["minTlsVersion"]) == ("MODERN", "TLS_1_2")
    rules = {
        r.inputs["portRange"]: r.inputs
        for r in run.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")
    }
    assert set(rules) == {"80", "443"}
    assert rules["80"]["target"] == run.one("gcp:compute/targetHttpProxy:TargetHttpProxy").state["id"]
    redirect = run.named("gcp:compute/uRLMap:URLMap", "mcp-http").inputs["defaultUrlRedirect"]
    assert redirect["httpsRedirect"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_cloud_sql_and_memorystore_are_private_tls_only_and_protected_in_prod(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    prod = stack == "prod"
    instance = run.one("gcp:sql/databaseInstance:DatabaseInstance")
    settings = instance.inputs["settings"]
    ip = settings["ipConfiguration"]
    assert (ip["ipv4Enabled"], ip["sslMode"]) == (False, "ENCRYPTED_ONLY")
    assert ip["privateNetwork"] == run.one("gcp:compute/network:Network").state["id"]
    assert settings["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert (settings["deletionProtectionEnabled"], instance.inputs["deletionProtection"]) == (prod, prod)
    assert instance.protect is prod
    assert settings["finalBackupConfig"]["enabled"] is prod
    redis = run.one("gcp:redis/instance:Instance").inputs
    assert (redis["authEnabled"], redis["transitEncryptionMode"]) == (True, "SERVER_AUTHENTICATION")
    assert redis["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    for name in ("notes", "tools"):
        assert service(run, name)["deletionProtection"] is prod
    url = run.one("gcp:sql/user:User")  # the URL itself is a secret; its TLS mode is in the code
    assert url.inputs["deletionPolicy"] == "ABANDON"


@pytest.mark.parametrize("stack", STACKS)
def test_backups_dump_only_the_databases_that_asked_on_schedule(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    bucket = run.one("gcp:storage/bucket:Bucket")
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["forceDestroy"] is (stack == "dev")
    grants = {
        g.inputs["member"]: g.inputs["role"]
        for g in run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    }
    assert grants == {
        f"serviceAccount:{account_email(run, 'mcp-backup')}": "roles/storage.objectCreator",
        f"serviceAccount:{account_email(run, 'mcp-restore')}": "roles/storage.objectViewer",
    }
    jobs = {j.name: j.inputs["template"]["template"] for j in run.of_type("gcp:cloudrunv2/job:Job")}
    assert set(jobs) == {"mcp-backup", "mcp-restore", "mcp-drill"}  # the platform's, none per server
    # the drill only reads dumps: the restore job's read-only account, not the writer's
    assert {label: job["serviceAccount"] for label, job in jobs.items()} == {
        "mcp-backup": account_email(run, "mcp-backup"),
        "mcp-restore": account_email(run, "mcp-restore"),
        "mcp-drill": account_email(run, "mcp-restore"),
    }
    for label, args in (
        ("mcp-backup", ["dump"]),
        ("mcp-restore", ["restore"]),
        ("mcp-drill", ["drill", "--all"]),
    ):
        [job] = jobs[label]["containers"]
        assert (job["commands"], job["args"]) == (["mcp-backup"], args)
        plain = {e["name"]: e["value"] for e in job["envs"] if "value" in e}
        assert plain == {"BACKUP_URL": f"gs://{bucket.state['name']}/postgres"}
        refs = secret_refs(job["envs"])
        assert refs == {"PG_URL_NOTES": {"secret": f"{stack}-mcp-notes-database-url", "version": "1"}}
        assert job["image"].startswith(
            f"{REGION[stack]}-docker.pkg.dev/{PROJECT[stack]}/{stack}-mcp-images/backup@"
        )
    build = run.named("docker:index/image:Image", "mcp-backup-image").inputs
    assert build["build"]["context"].endswith("backup")
    triggers = {t.name: t.inputs for t in run.of_type("gcp:cloudscheduler/job:Job")}
    assert set(triggers) == {"mcp-backup", "mcp-drill"}
    # the drill two hours after the backup, on the dump it just made
    for label, schedule in (("backup", "15 2 * * *"), ("drill", "15 4 * * *")):
        trigger = triggers[f"mcp-{label}"]
        assert (trigger["schedule"], trigger["timeZone"]) == (schedule, "Etc/UTC")
        assert trigger["httpTarget"]["uri"].endswith(f"/jobs/{stack}-mcp-{label}:run")
        caller = account_email(run, f"mcp-{label}-trigger")
        assert trigger["httpTarget"]["oauthToken"]["serviceAccountEmail"] == caller
    invokers = {
        (g.inputs["name"], g.inputs["role"], g.inputs["member"])
        for g in run.of_type("gcp:cloudrunv2/jobIamMember:JobIamMember")
    }
    assert invokers == {
        (
            f"{stack}-mcp-{label}",
            "roles/run.invoker",
            f"serviceAccount:{account_email(run, f'mcp-{label}-trigger')}",
        )
        for label in ("backup", "drill")
    }
    assert run.outputs["restore_command"].startswith(f"gcloud run jobs execute {stack}-mcp-restore ")
    assert "--args=restore,<server>,latest" in run.outputs["restore_command"]


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_cover_each_server_the_data_and_backup_runs(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    policies = {p.name: p.inputs for p in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy")}
    assert set(policies) == {
        *(
            f"{server}-{kind}"
            for server in ("notes", "tools")
            for kind in ("5xx-rate", "latency-p99", "instances-at-max")
        ),
        "mcp-postgres-cpu",
        "mcp-postgres-disk",
        "mcp-redis-memory",
        "mcp-backup-failed",
        "mcp-backup-missing",
        "mcp-drill-failed",
        "mcp-drill-missing",
        *(
            f"{server}-slo-{indicator}-{window}"
            for server in ("notes", "tools")
            for indicator in ("availability", "latency")
            for window in ("1h", "6h", "1d", "3d")
        ),
    }
    failed = policies["mcp-backup-failed"]["conditions"][0]["conditionThreshold"]
    assert f'resource.label.job_name="{stack}-mcp-backup"' in failed["filter"]
    assert 'metric.label.result="failed"' in failed["filter"]
    missing = policies["mcp-backup-missing"]["conditions"][0]["conditionThreshold"]
    assert 'metric.label.result="succeeded"' in missing["filter"]
    assert missing["comparison"] == "COMPARISON_LT"
    assert int(missing["aggregations"][0]["alignmentPeriod"].rstrip("s")) >= 86400  # a whole day
    assert missing["evaluationMissingData"] == "EVALUATION_MISSING_DATA_ACTIVE"  # no runs at all alerts too
    failed = policies["mcp-drill-failed"]["conditions"][0]["conditionThreshold"]
    assert f'resource.label.job_name="{stack}-mcp-drill"' in failed["filter"]
    assert 'metric.label.result="failed"' in failed["filter"]
    missing = policies["mcp-drill-missing"]["conditions"][0]["conditionThreshold"]
    assert f'resource.label.job_name="{stack}-mcp-drill"' in missing["filter"]
    assert 'metric.label.result="succeeded"' in missing["filter"]
    assert (missing["comparison"], missing["thresholdValue"]) == ("COMPARISON_LT", 1)
    # two daily backup periods and an hour's slack: 25 h aligned, held for 24 h more
    assert (missing["aggregations"][0]["alignmentPeriod"], missing["duration"]) == ("90000s", "86400s")
    assert missing["evaluationMissingData"] == "EVALUATION_MISSING_DATA_ACTIVE"
    for server in ("notes", "tools"):  # the fast page: 1 h and 5 min windows, both must hold
        burn = policies[f"{server}-slo-availability-1h"]
        assert burn["combiner"] == "AND"
        slo = f"projects/{PROJECT[stack]}/services/{stack}-mcp-{server}/serviceLevelObjectives/"
        slo += f"{stack}-mcp-{server}-availability"
        assert [c["conditionThreshold"]["filter"] for c in burn["conditions"]] == [
            f'select_slo_burn_rate("{slo}", "{seconds}s")' for seconds in (3600, 300)
        ]
    channels = run.of_type("gcp:monitoring/notificationChannel:NotificationChannel")
    if stack == "prod":
        assert [c.inputs["labels"]["email_address"] for c in channels] == ["oncall@example.com"]
        assert all(p["notificationChannels"] == [channels[0].state["id"]] for p in policies.values())
    else:
        assert channels == []


@pytest.mark.parametrize("stack", STACKS)
def test_apis_are_enabled_and_resources_wait_for_them(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    services = run.of_type("gcp:projects/service:Service")
    assert sorted(s.inputs["service"] for s in services) == [
        "artifactregistry.googleapis.com",
        "cloudscheduler.googleapis.com",
        "compute.googleapis.com",
        "iam.googleapis.com",
        "monitoring.googleapis.com",
        "redis.googleapis.com",
        "run.googleapis.com",
        "secretmanager.googleapis.com",
        "servicenetworking.googleapis.com",
        "sqladmin.googleapis.com",
    ]
    api_urns = {s.urn for s in services}
    for resource in [
        *run.of_type(RUN_SERVICE),
        *run.of_type("gcp:cloudrunv2/job:Job"),
        run.one("gcp:sql/databaseInstance:DatabaseInstance"),
        run.one("gcp:redis/instance:Instance"),
        run.one("gcp:artifactregistry/repository:Repository"),
    ]:
        assert api_urns <= set(resource.dependencies), resource.name
