"""target: gcp-cloudrun, through the real program and the committed stack files, under mocks.
Each invariant is checked for dev and prod, and where prod must differ from dev, it does."""

from __future__ import annotations

import pytest

from mcp_deploy.gcp.run import cloud_run_size
from tests.harness.mocks import MOCK_CA, MOCK_NEXT_CA
from tests.harness.plan import STACKS
from tests.harness.program import ProgramRun, run_program

TARGET = "gcp-cloudrun"  # the conftest `runs` fixture runs both stacks for it
PROJECT = {"dev": "mcp-deploy-dev-example", "prod": "mcp-deploy-prod-example"}
DOMAIN = {"dev": "mcp-dev.example.com", "prod": "mcp.example.com"}


def server(run: ProgramRun) -> dict:
    return run.one("gcp:cloudrunv2/service:Service").inputs


def account_email(run: ProgramRun, name: str) -> str:
    return run.named("gcp:serviceaccount/account:Account", name).state["email"]


@pytest.mark.parametrize("stack", STACKS)
def test_apis_are_enabled_and_resources_wait_for_them(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    services = run.of_type("gcp:projects/service:Service")
    # written out: comparing with mcp_deploy.gcp.apis.APIS would pass whatever it held
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
    assert all(s.inputs["project"] == PROJECT[stack] for s in services)
    api_urns = {s.urn for s in services}
    for type_token in (
        "gcp:cloudrunv2/service:Service",
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:redis/instance:Instance",
        "gcp:artifactregistry/repository:Repository",
    ):
        assert api_urns <= set(run.one(type_token).dependencies), type_token


@pytest.mark.parametrize(("stack", "keep"), [("dev", 20), ("prod", 50)])
def test_registry_keeps_the_newest_images_and_the_service_runs_by_digest(
    runs: dict[str, ProgramRun], stack: str, keep: int
) -> None:
    run = runs[stack]
    repository = run.one("gcp:artifactregistry/repository:Repository").inputs
    assert repository["format"] == "DOCKER"
    assert repository["dockerConfig"] == {"immutableTags": True}
    keep_policy = next(p for p in repository["cleanupPolicies"] if p["action"] == "KEEP")
    assert keep_policy["mostRecentVersions"]["keepCount"] == keep
    build = run.one("docker:index/image:Image").inputs
    assert build["imageName"].startswith(
        f"us-central1-docker.pkg.dev/{PROJECT[stack]}/mcp-server/server:src-"
    )
    image = server(run)["template"]["containers"][0]["image"]
    assert "@sha256:" in image
    assert run.outputs["image"] == image


@pytest.mark.parametrize(
    ("stack", "low", "high", "limits"),
    [("dev", 1, 2, {"cpu": "1", "memory": "512Mi"}), ("prod", 3, 12, {"cpu": "1", "memory": "2048Mi"})],
)
def test_cloud_run_is_sized_from_config_probed_and_reachable_only_via_the_load_balancer(
    runs: dict[str, ProgramRun], stack: str, low: int, high: int, limits: dict[str, str]
) -> None:
    inputs = server(runs[stack])
    template = inputs["template"]
    assert inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert template["scaling"] == {"minInstanceCount": low, "maxInstanceCount": high}
    assert template["maxInstanceRequestConcurrency"] == 80
    assert int(template["timeout"].rstrip("s")) >= 3600
    container = template["containers"][0]
    assert container["resources"]["limits"] == limits
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert template["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    assert template["vpcAccess"]["networkInterfaces"][0]["subnetwork"]
    assert template["serviceAccount"] == account_email(runs[stack], "mcp-server")
    assert inputs["deletionProtection"] is (stack == "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_are_references_readable_only_by_who_needs_them(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    container = server(run)["template"]["containers"][0]
    by_reference = {
        e["name"]: e["valueSource"]["secretKeyRef"]["secret"] for e in container["envs"] if "valueSource" in e
    }
    assert by_reference == {
        "DATABASE_URL": "mcp-database-url",
        "REDIS_URL": "mcp-redis-url",
        "MCP_REQUEST_STATE_KEY": "mcp-request-state-key",
    }
    plain = " ".join(str(e.get("value", "")) for e in container["envs"]).lower()
    for leak in ("postgresql://", "rediss://", "password"):
        assert leak not in plain
    for version in run.of_type("gcp:secretmanager/secretVersion:SecretVersion"):
        assert "secretData" in version.secret_inputs
    readers: dict[str, set[str]] = {}
    for grant in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        assert grant.inputs["role"] == "roles/secretmanager.secretAccessor"
        readers.setdefault(grant.inputs["secretId"], set()).add(grant.inputs["member"])
    server_account = f"serviceAccount:{account_email(run, 'mcp-server')}"
    jobs = {f"serviceAccount:{account_email(run, n)}" for n in ("mcp-backup", "mcp-restore")}
    assert readers == {
        "mcp-database-url": {server_account, *jobs},
        "mcp-redis-url": {server_account},
        "mcp-request-state-key": {server_account},
    }
    assert run.of_type("gcp:projects/iAMMember:IAMMember") == []  # no project-wide roles at all


@pytest.mark.parametrize("stack", STACKS)
def test_memorystore_has_auth_and_tls_on_the_private_network(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    redis = run.one("gcp:redis/instance:Instance").inputs
    assert redis["authEnabled"] is True
    assert redis["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert redis["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert redis["authorizedNetwork"] == run.one("gcp:compute/network:Network").state["id"]
    assert redis["tier"] == {"dev": "BASIC", "prod": "STANDARD_HA"}[stack]
    container = server(run)["template"]["containers"][0]
    [ca] = [e["value"] for e in container["envs"] if e["name"] == "REDIS_CA_CERT"]
    assert ca == MOCK_CA + MOCK_NEXT_CA  # every server CA, so a CA rotation does not cut Redis off


@pytest.mark.parametrize("stack", STACKS)
def test_cloud_sql_is_private_ssl_only_backed_up_and_protected_in_prod(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    instance = run.one("gcp:sql/databaseInstance:DatabaseInstance")
    settings = instance.inputs["settings"]
    prod = stack == "prod"
    ip = settings["ipConfiguration"]
    assert (ip["ipv4Enabled"], ip["sslMode"]) == (False, "ENCRYPTED_ONLY")
    assert ip["privateNetwork"] == run.one("gcp:compute/network:Network").state["id"]
    backups = settings["backupConfiguration"]
    assert backups["enabled"] is True
    assert backups["pointInTimeRecoveryEnabled"] is True
    assert settings["availabilityType"] == ("REGIONAL" if prod else "ZONAL")
    assert settings["deletionProtectionEnabled"] is prod
    assert instance.inputs["deletionProtection"] is prod
    assert instance.protect is prod
    assert settings["finalBackupConfig"]["enabled"] is prod
    assert run.one("gcp:servicenetworking/connection:Connection").urn in instance.dependencies
    assert "password" in run.one("gcp:sql/user:User").secret_inputs


@pytest.mark.parametrize("stack", STACKS)
def test_https_load_balancer_with_managed_certificate_redirect_and_armor(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    neg = run.one("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup").inputs
    assert neg["networkEndpointType"] == "SERVERLESS"
    assert neg["cloudRun"]["service"] == server(run)["name"]
    managed = run.one("gcp:compute/managedSslCertificate:ManagedSslCertificate")
    assert managed.delete_before_replace is False  # the proxy holds it; replace create-first
    certificate = managed.inputs
    assert certificate["managed"]["domains"] == [DOMAIN[stack]]
    policy = run.one("gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert (policy["profile"], policy["minTlsVersion"]) == ("MODERN", "TLS_1_2")
    rules = {
        r.inputs["portRange"]: r.inputs
        for r in run.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")
    }
    assert set(rules) == {"80", "443"}
    assert all(r["loadBalancingScheme"] == "EXTERNAL_MANAGED" for r in rules.values())
    redirect = run.named("gcp:compute/uRLMap:URLMap", "mcp-http").inputs["defaultUrlRedirect"]
    assert redirect["httpsRedirect"] is True
    https_map = run.named("gcp:compute/uRLMap:URLMap", "mcp-https").inputs
    assert https_map["pathMatchers"][0]["pathRules"][0]["paths"] == [
        "/mcp",
        "/mcp/*",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/*",
    ]
    armor = run.one("gcp:compute/securityPolicy:SecurityPolicy")
    backend = run.one("gcp:compute/backendService:BackendService").inputs
    assert backend["securityPolicy"] == armor.state["id"]
    [throttle] = [r for r in armor.inputs["rules"] if r["action"] == "throttle"]
    assert throttle["rateLimitOptions"]["exceedAction"] == "deny(429)"
    assert throttle["rateLimitOptions"]["rateLimitThreshold"] == {"count": 1200, "intervalSec": 60}


@pytest.mark.parametrize(("stack", "days", "schedule"), [("dev", 7, "0 3 * * *"), ("prod", 90, "15 2 * * *")])
def test_backups_go_to_a_locked_bucket_on_schedule_with_create_only_rights(
    runs: dict[str, ProgramRun], stack: str, days: int, schedule: str
) -> None:
    run = runs[stack]
    bucket = run.one("gcp:storage/bucket:Bucket")
    inputs = bucket.inputs
    assert inputs["uniformBucketLevelAccess"] is True
    assert inputs["publicAccessPrevention"] == "enforced"
    assert inputs["versioning"] == {"enabled": True}
    assert inputs["lifecycleRules"][0]["condition"]["age"] == days
    grants = {
        g.inputs["member"]: g.inputs["role"]
        for g in run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    }
    assert grants == {
        f"serviceAccount:{account_email(run, 'mcp-backup')}": "roles/storage.objectCreator",
        f"serviceAccount:{account_email(run, 'mcp-restore')}": "roles/storage.objectViewer",
    }
    jobs = {
        j.name: j.inputs["template"]["template"]["containers"][0]
        for j in run.of_type("gcp:cloudrunv2/job:Job")
    }
    assert jobs["mcp-backup"]["args"] == ["backup"]
    assert jobs["mcp-restore"]["args"] == ["restore", "latest"]
    # the job's disk is its memory: sized from postgresStorageGb (dev 20 GB, prod 100 GB)
    limits = {"dev": {"cpu": "2", "memory": "8Gi"}, "prod": {"cpu": "8", "memory": "32Gi"}}[stack]
    assert jobs["mcp-backup"]["resources"]["limits"] == limits
    assert jobs["mcp-restore"]["resources"]["limits"] == limits
    trigger = run.one("gcp:cloudscheduler/job:Job").inputs
    assert (trigger["schedule"], trigger["timeZone"]) == (schedule, "Etc/UTC")
    assert trigger["httpTarget"]["uri"].endswith("/jobs/mcp-backup:run")
    assert trigger["httpTarget"]["oauthToken"]["serviceAccountEmail"] == account_email(
        run, "mcp-backup-trigger"
    )
    invoker = run.one("gcp:cloudrunv2/jobIamMember:JobIamMember").inputs
    assert (invoker["name"], invoker["role"]) == ("mcp-backup", "roles/run.invoker")
    assert run.outputs["restore_command"].startswith("gcloud run jobs execute mcp-restore ")
    assert run.outputs["backup_bucket"] == bucket.state["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_alert_policies_cover_service_and_data_and_email_in_prod(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    policies = {
        p.name.removeprefix("mcp-"): p.inputs for p in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
    }
    assert set(policies) == {
        "5xx-rate",
        "latency-p99",
        "instances-at-max",
        "postgres-cpu",
        "postgres-disk",
        "redis-memory",
    }
    channels = run.of_type("gcp:monitoring/notificationChannel:NotificationChannel")
    if stack == "prod":
        assert [c.inputs["labels"]["email_address"] for c in channels] == ["oncall@example.com"]
        assert all(p["notificationChannels"] == [channels[0].state["id"]] for p in policies.values())
    else:
        assert channels == []
    at_max = policies["instances-at-max"]["conditions"][0]["conditionThreshold"]
    assert at_max["thresholdValue"] == {"dev": 1.5, "prod": 11.5}[stack]


def test_missing_provider_settings_stop_before_any_resource() -> None:
    run = run_program("dev", "gcp-cloudrun", overrides={"gcp:project": "", "gcp:region": ""})
    allowed = "allowed: required by target gcp-cloudrun: pulumi config set"
    assert str(run.error).splitlines()[1:] == [
        f"  gcp:project: got nothing; {allowed} gcp:project ...",
        f"  gcp:region: got nothing; {allowed} gcp:region ...",
    ]
    assert run.resources == []


def test_provider_settings_and_stack_config_problems_come_in_one_message() -> None:
    run = run_program("dev", "gcp-cloudrun", overrides={"gcp:project": "", "minReplicas": "-1"})
    assert [line.split(": got")[0].strip() for line in str(run.error).splitlines()[1:]] == [
        "gcp:project",
        "mcp-deploy:minReplicas",
    ]
    assert run.resources == []


@pytest.mark.parametrize(
    ("units", "mib", "expected"),
    [
        (256, 512, ("1", "512Mi")),
        (512, 256, ("1", "512Mi")),
        (2048, 4096, ("2", "4096Mi")),
        (3000, 8192, ("4", "8192Mi")),
        (1024, 6144, ("2", "6144Mi")),  # over 4 GiB needs 2 CPUs
        (4096, 1024, ("4", "2048Mi")),  # 4 CPUs need at least 2 GiB
        (1024, 20480, ("6", "20480Mi")),  # over 16 GiB needs 6
        (8192, 32768, ("8", "32768Mi")),
    ],
)
def test_config_sizes_map_to_cloud_run_steps(units: int, mib: int, expected: tuple[str, str]) -> None:
    assert cloud_run_size(units, mib) == expected
