"""gcp-cloudrun deploy-correctness defects of issue 11, each with a test that fails without its fix,
plus physical names and images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcp_deploy.gcp.image import cloud_run_can_pull, context_hash
from mcp_deploy.gcp.platform.data import backup_retention
from mcp_deploy.gcp.server.workload import cloud_run_size
from tests.fixtures.gcp_runs import STACKS, run_gcp
from tests.harness.monitor import Registration
from tests.harness.physical_names import collisions, describe, physical_names
from tests.harness.program import ProgramRun

VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
GRANT = "gcp:secretmanager/secretIamMember:SecretIamMember"


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    result = {stack: run_gcp(stack) for stack in STACKS}
    for run in result.values():
        assert run.error is None, run.error
    return result


def ancestors(run: ProgramRun, resource: Registration) -> set[str]:
    """Every URN `resource` waits for, directly or through what it waits for."""
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo.extend(run.by_urn(urn).dependencies)
    return seen


def secrets_named(run: ProgramRun, type_token: str, label: str) -> list[Registration]:
    return [r for r in run.of_type(type_token) if r.name.startswith(label)]


# Defect 2: Cloud SQL refuses transaction-log retention that is not below the backups retained.


@pytest.mark.parametrize("days", [1, 2, 3, 7, 8, 30, 365])
def test_log_retention_is_below_backup_retention_and_within_cloud_sql_range(days: int) -> None:
    retained, logs = backup_retention(days)
    assert retained >= days
    assert 1 <= logs <= 7  # Enterprise edition
    assert logs < retained


@pytest.mark.parametrize(("stack", "retained", "logs"), [("dev", 7, 6), ("prod", 30, 7)])
def test_the_instance_asks_for_a_retention_cloud_sql_accepts(
    runs: dict[str, ProgramRun], stack: str, retained: int, logs: int
) -> None:
    backups = (
        runs[stack].one("gcp:sql/databaseInstance:DatabaseInstance").inputs["settings"]["backupConfiguration"]
    )
    assert backups["backupRetentionSettings"] == {"retainedBackups": retained, "retentionUnit": "COUNT"}
    assert backups["transactionLogRetentionDays"] == logs


# Defect 3 (and the ordering contract): workloads wait for the secret versions and the grants.


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("server", ["notes", "tools"])
def test_each_service_waits_for_its_secret_versions_grants_data_and_network(
    runs: dict[str, ProgramRun], stack: str, server: str
) -> None:
    run = runs[stack]
    service = run.named("gcp:cloudrunv2/service:Service", f"{server}-service")
    waits = ancestors(run, service)
    versions = secrets_named(run, VERSION, f"{server}-")
    grants = [g for g in secrets_named(run, GRANT, f"{server}-") if g.name.endswith("-reader")]
    assert versions
    assert len(versions) == len(grants)
    for needed in (*versions, *grants):
        assert needed.urn in waits, needed.name
    for needed in ("gcp:servicenetworking/connection:Connection", "gcp:compute/subnetwork:Subnetwork"):
        assert run.one(needed).urn in waits
    data = {
        run.one("gcp:sql/databaseInstance:DatabaseInstance").urn,
        run.one("gcp:redis/instance:Instance").urn,
    }
    data |= {r.urn for r in run.of_type("gcp:sql/database:Database")}
    data |= {r.urn for r in run.of_type("gcp:sql/user:User")}
    if server == "notes":
        assert data <= waits
    else:  # tools uses neither
        assert not data & set(service.dependencies)


@pytest.mark.parametrize("stack", STACKS)
def test_backup_jobs_wait_for_the_database_url_version_and_their_grants(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    version = run.named(VERSION, "notes-database-url")
    # the job -> the account it runs as: the drill reads dumps with the restore job's account
    accounts = {"mcp-backup": "backup", "mcp-restore": "restore", "mcp-drill": "restore"}
    jobs = run.of_type("gcp:cloudrunv2/job:Job")
    assert sorted(job.name for job in jobs) == sorted(accounts)
    for job in jobs:
        waits = ancestors(run, job)
        account = accounts[job.name]
        assert version.urn in waits
        assert run.named(GRANT, f"notes-{account}-reads-database-url").urn in waits
        assert run.named("gcp:storage/bucketIAMMember:BucketIAMMember", f"mcp-{account}-bucket").urn in waits


# Defect 6: secret references pin the version, so a new value is a new revision.


@pytest.mark.parametrize("stack", STACKS)
def test_secret_references_pin_the_version_the_program_created(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    workloads = [*run.of_type("gcp:cloudrunv2/service:Service"), *run.of_type("gcp:cloudrunv2/job:Job")]
    found = 0
    for workload in workloads:
        template = workload.inputs["template"]
        containers = (
            template["containers"] if "containers" in template else template["template"]["containers"]
        )
        for container in containers:  # the collector sidecars too: they must hold none
            for env in container["envs"]:
                if "valueSource" in env:
                    assert container.get("name") != "collector", env["name"]
                    assert env["valueSource"]["secretKeyRef"]["version"] not in (None, "latest"), env["name"]
                    found += 1
    # notes 3, tools 1, the backup, restore and drill jobs one each, the gateway 2
    assert found == 3 + 1 + 3 + 2


@pytest.mark.parametrize("stack", STACKS)
def test_a_service_template_takes_its_secret_versions_as_inputs(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    for server, labels in (("notes", 3), ("tools", 1)):
        service = run.named("gcp:cloudrunv2/service:Service", f"{server}-service")
        versions = {v.urn for v in secrets_named(run, VERSION, f"{server}-")}
        assert len(versions) == labels
        assert versions <= set(service.property_dependencies["template"])


# Defect 7: the private service connection is abandoned on destroy; TLS to the data tier.


@pytest.mark.parametrize("stack", STACKS)
def test_private_service_connection_is_abandoned_on_destroy(runs: dict[str, ProgramRun], stack: str) -> None:
    peering = runs[stack].one("gcp:servicenetworking/connection:Connection")
    assert peering.inputs["deletionPolicy"] == "ABANDON"
    assert peering.inputs["service"] == "servicenetworking.googleapis.com"


# Names: GCP's limits, and no collisions between stacks, platforms or servers.


@pytest.mark.parametrize("stack", STACKS)
def test_names_keep_within_gcp_limits(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    for account in run.of_type("gcp:serviceaccount/account:Account"):
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account.inputs["accountId"]), account.inputs
    for workload in (*run.of_type("gcp:cloudrunv2/service:Service"), *run.of_type("gcp:cloudrunv2/job:Job")):
        assert len(workload.inputs["name"]) <= 49
    assert len(run.one("gcp:storage/bucket:Bucket").inputs["name"]) <= 63
    assert len(run.one("gcp:redis/instance:Instance").inputs["name"]) <= 40


def test_a_long_server_name_gets_a_valid_service_account_id() -> None:
    run = run_gcp(
        "dev",
        overrides={"gcp-fixture:toolsName": "fastmcp-tools-api", "gcp-fixture:platformName": "platform"},
    )
    assert run.error is None, run.error
    account = run.named("gcp:serviceaccount/account:Account", "fastmcp-tools-api-account").inputs["accountId"]
    assert len(account) <= 30
    assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account)


def test_two_stacks_in_one_project_do_not_collide() -> None:
    dev = run_gcp("dev")
    other = run_gcp("prod", overrides={"gcp:project": "acme-mcp-dev", "gcp:region": "us-central1"})
    assert dev.error is None, dev.error
    assert other.error is None, other.error
    shared = sorted(set(physical_names(dev)) & set(physical_names(other)))
    assert any(name[0] == "gcp:cloudrunv2/service:Service" for name in physical_names(dev))
    assert not shared, "\n".join(map(describe, shared))


@pytest.mark.parametrize("stack", STACKS)
def test_no_two_resources_of_one_program_share_a_name(runs: dict[str, ProgramRun], stack: str) -> None:
    clashes = collisions(physical_names(runs[stack]))
    assert not clashes, "\n".join(map(describe, clashes))


# Images: what Cloud Run can pull, and a tag that changes with anything in the build context.


@pytest.mark.parametrize(
    ("reference", "pullable"),
    [
        ("us-docker.pkg.dev/acme/tools/tools:1.0", True),
        ("europe-west1-docker.pkg.dev/p/r/i@sha256:" + "a" * 64, True),
        ("gcr.io/acme/tools:1", True),
        ("eu.gcr.io/acme/tools:1", True),
        ("acme/tools:1", True),  # Docker Hub
        ("docker.io/library/redis:7", True),
        ("ghcr.io/acme/tools:1", False),
        ("quay.io/acme/tools:1", False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/tools:1", False),
        ("localhost:5000/tools:1", False),
    ],
)
def test_only_registries_cloud_run_pulls_from_are_accepted(reference: str, pullable: bool) -> None:
    assert cloud_run_can_pull(reference) is pullable


def test_a_prebuilt_image_cloud_run_cannot_pull_is_refused_before_its_server_registers() -> None:
    run = run_gcp("dev", overrides={"gcp-fixture:toolsImage": "ghcr.io/acme/tools:1.0"})
    assert "server 'tools': Cloud Run pulls images only from Artifact Registry" in str(run.error)
    assert "ghcr.io/acme/tools:1.0" in str(run.error)
    assert not [r for r in run.resources if r.name.startswith("tools")]


def test_the_image_tag_changes_with_any_file_docker_sends(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text(".venv\n**/__pycache__\n")
    (tmp_path / "README.md").write_text("one\n")
    before = context_hash(tmp_path)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "big").write_text("ignored\n")
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "__pycache__" / "m.pyc").write_text("ignored\n")
    assert context_hash(tmp_path) == before  # what Docker does not send cannot change the image
    (tmp_path / "README.md").write_text("two\n")
    assert context_hash(tmp_path) != before  # a README edit is in the context: a new tag


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
def test_cpu_and_memory_map_to_cloud_run_steps(units: int, mib: int, expected: tuple[str, str]) -> None:
    assert cloud_run_size(units, mib) == expected
