"""target: aws-ecs, through a program that builds an AwsPlatform and two servers from Args
(tests/fixtures/aws_program): `notes` (our reference server, built) and `tools` (a prebuilt image
on port 3000 with /healthz and one secret). dev and prod stacks; `other` is a second stack in the
same account."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from mcp_deploy.aws.cron import CronNotSupported, eventbridge_cron
from mcp_deploy.aws.platform.backups import ephemeral_gib
from mcp_deploy.aws.server import _check
from mcp_deploy.aws.server.routing import rewrite
from mcp_deploy.server_spec import DRAIN_SECONDS, ServerArgsError, resolve_server
from tests.harness.monitor import Registration
from tests.harness.program import ProgramRun, run_program

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "aws_program"
STACKS = ("dev", "prod")
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def run_fixture(stack: str) -> ProgramRun:
    run = run_program(path=FIXTURE / f"Pulumi.{stack}.yaml", program=FIXTURE / "__main__.py")
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    return {stack: run_fixture(stack) for stack in (*STACKS, "other")}


def containers(run: ProgramRun, name: str) -> dict[str, dict[str, Any]]:
    task = run.named(TASK, name)
    return {c["name"]: c for c in json.loads(task.inputs["containerDefinitions"])}


def owned_by(run: ProgramRun, resource: Registration, server: str) -> bool:
    """Whether `resource` is (below) the Server component `server`."""
    parent = resource.parent
    while parent and "::pulumi:pulumi:Stack::" not in parent:
        owner = run.by_urn(parent)
        if owner.type == "mcp-deploy:aws:Server":
            return owner.name == server
        parent = owner.parent
    return False


def transitive(run: ProgramRun, resource: Registration) -> set[str]:
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        todo += list(run.by_urn(urn).dependencies)
    return seen


def policies(run: ProgramRun) -> dict[str, list[dict[str, Any]]]:
    return {
        p.name: json.loads(p.inputs["policy"])["Statement"]
        for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
    }


# --- one platform, two servers ----------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_network_one_load_balancer_one_database_for_two_servers(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    for kind in ("aws:ec2/vpc:Vpc", "aws:lb/loadBalancer:LoadBalancer", "aws:rds/instance:Instance",
                 "aws:elasticache/replicationGroup:ReplicationGroup", "aws:ecs/cluster:Cluster"):  # fmt: skip
        run.one(kind)
    assert len(run.of_type(SERVICE)) == 2
    # Only notes has a database (and its URL, and the step that creates its role and database).
    database_secrets = [
        s.name for s in run.of_type("aws:secretsmanager/secret:Secret") if "database-url" in s.name
    ]
    assert database_secrets == ["notes-database-url"]
    assert set(containers(run, "notes-server")) == {"provision-db", "server"}
    assert set(containers(run, "tools-server")) == {"server"}


@pytest.mark.parametrize("stack", STACKS)
def test_each_target_group_checks_the_servers_own_port_and_path(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    groups = {g.name: g.inputs for g in run.of_type("aws:lb/targetGroup:TargetGroup")}
    assert (groups["tools-tasks"]["port"], groups["tools-tasks"]["healthCheck"]["path"]) == (3000, "/healthz")
    assert (groups["notes-tasks"]["port"], groups["notes-tasks"]["healthCheck"]["path"]) == (8000, "/ready")
    assert all(g["deregistrationDelay"] > DRAIN_SECONDS for g in groups.values())
    assert all(len(g["name"]) <= 32 for g in groups.values())
    assert "stickiness" not in groups["tools-tasks"]


def test_a_sticky_server_gets_load_balancer_cookies(runs: dict[str, ProgramRun]) -> None:
    group = runs["other"].named("aws:lb/targetGroup:TargetGroup", "tools-tasks").inputs
    assert group["stickiness"]["type"] == "lb_cookie"
    assert group["stickiness"]["enabled"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_a_prebuilt_server_runs_its_own_command_on_its_own_port(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    tools = containers(run, "tools-server")["server"]
    assert "command" not in tools  # the image's own arguments: no `serve`
    assert "entryPoint" not in tools
    assert tools["portMappings"] == [{"containerPort": 3000, "protocol": "tcp"}]
    assert "user" not in tools  # the image's own user
    assert tools["image"].startswith("ghcr.io/acme/tools@sha256:")
    notes = containers(run, "notes-server")["server"]
    assert notes["command"] == ["serve"]
    assert notes["user"] == "10001:10001"
    for container in (tools, notes):
        # No container health check: it would need a binary in the image; the target group checks.
        assert "healthCheck" not in container
        assert container["readonlyRootFilesystem"] is True
        assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("stack", STACKS)
def test_a_secret_reaches_the_container_only_by_reference(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    secrets = {s.name: s.state["arn"] for s in run.of_type("aws:secretsmanager/secret:Secret")}
    tools = containers(run, "tools-server")["server"]
    assert tools["secrets"] == [{"name": "API_KEY", "valueFrom": secrets["tools-api-key"]}]
    assert "x" * 20 not in json.dumps(tools)
    assert "x" * 20 not in json.dumps([r.inputs for r in run.resources if r.type != VERSION])
    for version in run.of_type(VERSION):
        assert "secretString" in version.secret_inputs
    notes = {s["name"] for s in containers(run, "notes-server")["server"]["secrets"]}
    assert notes == {"DATABASE_URL", "REDIS_URL", "MCP_REQUEST_STATE_KEY"}
    # each execution role reads exactly the secrets its containers name
    statements = policies(run)
    [tools_reads] = [
        s for s in statements["tools-execution"] if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert tools_reads["Resource"] == [secrets["tools-api-key"]]
    [notes_reads] = [
        s for s in statements["notes-execution"] if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert sorted(notes_reads["Resource"]) == sorted(
        secrets[n]
        for n in (
            "notes-database-url",
            "notes-redis-url",
            "notes-mcp-request-state-key",
            "mcp-postgres-admin-url",
        )
    )


@pytest.mark.parametrize("stack", STACKS)
def test_only_a_server_with_a_database_gets_a_backup(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    [schedule] = run.of_type("aws:scheduler/schedule:Schedule")
    assert owned_by(run, schedule, "notes")
    assert not [r for r in run.resources if owned_by(run, r, "tools") and "backup" in r.name]
    job = containers(run, "notes-backup")["backup"]
    assert (job["entryPoint"], job["command"]) == (["mcp-backup"], ["dump"])
    assert [s["name"] for s in job["secrets"]] == ["PG_URL_NOTES"]
    assert [e["name"] for e in job["environment"]] == ["AWS_REGION", "BACKUP_URL", "TMPDIR"]
    assert (
        schedule.inputs["scheduleExpression"]
        == {
            "dev": "cron(0 3 * * ? *)",
            "prod": "cron(15 2 ? * 2-6 *)",
        }[stack]
    )
    assert (
        schedule.inputs["target"]["ecsParameters"]["taskDefinitionArn"]
        == run.named(TASK, "notes-backup").state["arn"]
    )
    assert '"command": ["restore", "notes", "latest"]' in run.outputs["notes_restore"]


@pytest.mark.parametrize("stack", STACKS)
def test_listener_rules_route_each_server_under_its_name(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    rules = {r.name: r for r in run.of_type("aws:lb/listenerRule:ListenerRule")}
    groups = {g.name: g.state["arn"] for g in run.of_type("aws:lb/targetGroup:TargetGroup")}
    https = next(lst for lst in run.of_type("aws:lb/listener:Listener") if lst.inputs["port"] == 443)
    assert https.inputs["defaultActions"][0]["fixedResponse"]["statusCode"] == "404"
    for server in ("notes", "tools"):
        mcp, metadata = rules[f"{server}-mcp"].inputs, rules[f"{server}-metadata"].inputs
        assert mcp["conditions"][0]["pathPattern"]["values"] == [f"/{server}/mcp", f"/{server}/mcp/*"]
        assert mcp["transforms"] == [
            {
                "type": "url-rewrite",
                "urlRewriteConfig": {"rewrite": {"regex": f"^/{server}/mcp(.*)$", "replace": "/mcp$1"}},
            }
        ]
        assert metadata["conditions"][0]["pathPattern"]["values"] == [
            f"/.well-known/oauth-protected-resource/{server}/mcp"
        ]
        assert "transforms" not in metadata  # the server serves its metadata at that very path
        for rule in (mcp, metadata):
            assert rule["actions"] == [{"type": "forward", "targetGroupArn": groups[f"{server}-tasks"]}]
            assert rule["listenerArn"] == https.state["arn"]
    priorities = [r.inputs["priority"] for r in rules.values()]
    assert len(set(priorities)) == len(priorities)


def test_the_rewrite_keeps_the_rest_of_the_path_and_escapes_the_servers_path() -> None:
    spec = resolve_server("docs", {"image": "ghcr.io/acme/docs:1", "path": "/v1.0/mcp"})
    assert rewrite(spec) == (r"^/docs/v1\.0/mcp(.*)$", "/v1.0/mcp$1")


# --- defect 1: ordering -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_services_wait_for_secret_values_grants_data_and_routes(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    nat_routes = {
        r.urn
        for r in run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if "private" in r.name
    }
    assert nat_routes
    for server in ("notes", "tools"):
        for workload in (run.named(SERVICE, f"{server}-server"), run.named(TASK, f"{server}-server")):
            needs = transitive(run, workload)
            versions = {v.urn for v in run.of_type(VERSION) if owned_by(run, v, server)}
            assert versions
            assert versions <= needs, (workload.name, versions - needs)
            assert run.named("aws:iam/rolePolicy:RolePolicy", f"{server}-execution").urn in needs
            assert nat_routes <= needs
        service = run.named(SERVICE, f"{server}-server")
        assert service.inputs["waitForSteadyState"] is True
        assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert {
            r.urn for r in run.of_type("aws:lb/listenerRule:ListenerRule") if owned_by(run, r, server)
        } <= set(service.dependencies)
    notes = transitive(run, run.named(SERVICE, "notes-server"))
    tools = transitive(run, run.named(SERVICE, "tools-server"))
    for data in (
        run.one("aws:rds/instance:Instance"),
        run.one("aws:elasticache/replicationGroup:ReplicationGroup"),
    ):
        assert data.urn in notes
        assert data.urn not in tools  # tools uses neither
    admin = run.named(VERSION, "mcp-postgres-admin-url")
    assert admin.urn in notes  # the provisioning step reads it at start
    schedule = run.one("aws:scheduler/schedule:Schedule")
    assert run.named(VERSION, "notes-database-url").urn in transitive(run, schedule)
    assert run.named("aws:iam/rolePolicy:RolePolicy", "notes-backup-scheduler").urn in schedule.dependencies


# --- defect 4: backups can write, are sized, and are watched ----------------------------------


@pytest.mark.parametrize(("stack", "gib"), [("dev", 21), ("prod", 50)])
def test_the_backup_task_has_a_writable_tmp_sized_for_the_database(
    runs: dict[str, ProgramRun], stack: str, gib: int
) -> None:
    task = runs[stack].named(TASK, "notes-backup").inputs
    assert task["volumes"] == [{"name": "tmp"}]
    assert task["ephemeralStorage"] == {"sizeInGib": gib}
    job = containers(runs[stack], "notes-backup")["backup"]
    assert job["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert job["readonlyRootFilesystem"] is True


@pytest.mark.parametrize(("storage", "gib"), [(5, 21), (21, 21), (120, 120), (500, 200)])
def test_ephemeral_storage_stays_within_what_fargate_accepts(storage: int, gib: int) -> None:
    assert ephemeral_gib(storage) == gib


@pytest.mark.parametrize("stack", STACKS)
def test_alarms_fire_on_a_failed_backup_and_on_a_day_without_one(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    topic = run.one("aws:sns/topic:Topic").state["arn"]
    rules = {r.name: r for r in run.of_type("aws:cloudwatch/eventRule:EventRule")}
    alarms = {a.name: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    failed = json.loads(rules["mcp-backup-failed"].inputs["eventPattern"])
    assert failed["detail"]["group"] == [{"prefix": f"family:{stack}-mcp-backup"}]
    assert {"containers": {"exitCode": [{"anything-but": 0}]}} in failed["detail"]["$or"]
    assert {"stopCode": ["TaskFailedToStart"]} in failed["detail"]["$or"]
    assert alarms["mcp-backup-failed"]["dimensions"] == {"RuleName": rules["mcp-backup-failed"].state["name"]}
    succeeded = json.loads(rules["notes-backup-succeeded"].inputs["eventPattern"])
    assert succeeded["detail"]["group"] == [f"family:{run.named(TASK, 'notes-backup').inputs['family']}"]
    assert succeeded["detail"]["containers"] == {"exitCode": [0]}
    missing = alarms["notes-backup-missing"]
    assert (missing["period"] * missing["evaluationPeriods"], missing["datapointsToAlarm"]) == (26 * 3600, 26)
    assert (missing["comparisonOperator"], missing["threshold"], missing["treatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    assert all(a["alarmActions"] == [topic] for a in alarms.values())


# --- defect 6: a new secret value rolls the tasks ---------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_task_definitions_carry_a_hash_of_their_secret_versions(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    for server, family in (("notes", "notes-server"), ("tools", "tools-server"), ("notes", "notes-backup")):
        task = run.named(TASK, family)
        label = next(iter(containers(run, family).values()))
        if family.endswith("server"):
            label = containers(run, family)["server"]
        revision = label["dockerLabels"]["mcp-deploy.secrets-revision"]
        assert len(revision) == 16
        versions = {v.urn for v in run.of_type(VERSION) if owned_by(run, v, server)}
        if family.endswith("backup"):
            versions = {run.named(VERSION, "notes-database-url").urn}
        assert versions <= set(task.property_dependencies["containerDefinitions"]), family


# --- defect 7: cron and the final snapshot ----------------------------------------------------


@pytest.mark.parametrize(
    ("unix", "eventbridge"),
    [
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("*/15 * * * *", "cron(*/15 * * * ? *)"),
        ("0 3 * * */2", "cron(0 3 ? * */2 *)"),  # a step is a count of days: unchanged
        ("0 3 * * 5-7", "cron(0 3 ? * 1,6-7 *)"),  # Fri-Sun: EventBridge ranges do not wrap
        ("0 4 * * 1-5", "cron(0 4 ? * 2-6 *)"),
        ("30 1 * * 0", "cron(30 1 ? * 1 *)"),  # Sunday is 0 in unix cron, 1 in EventBridge
        ("30 1 * * 7", "cron(30 1 ? * 1 *)"),  # and 7 in unix cron too
        ("0 4 * * MON-FRI", "cron(0 4 ? * 2-6 *)"),
        ("0 4 * * 1-5/2", "cron(0 4 ? * 2,4,6 *)"),
        ("0 4 * * 0,6", "cron(0 4 ? * 1,7 *)"),
    ],
)
def test_unix_cron_becomes_eventbridge_cron(unix: str, eventbridge: str) -> None:
    assert eventbridge_cron(unix) == eventbridge


@pytest.mark.parametrize("expression", ["0 3 1 * 1", "0 3 * * 8", "0 3 * * 5-2", "0 3 * *", "0 3 * * XYZ"])
def test_a_schedule_eventbridge_cannot_express_is_refused(expression: str) -> None:
    with pytest.raises(CronNotSupported):
        eventbridge_cron(expression)


def test_the_final_snapshot_is_named_per_instance(runs: dict[str, ProgramRun]) -> None:
    run = runs["prod"]
    database = run.one("aws:rds/instance:Instance")
    suffix = run.named("random:index/randomId:RandomId", "mcp-postgres-final-snapshot")
    assert suffix.inputs["keepers"] == {"identifier": database.inputs["identifier"]}
    assert (
        database.inputs["finalSnapshotIdentifier"]
        == f"{database.inputs['identifier']}-final-{suffix.state['hex']}"
    )
    assert suffix.urn in database.property_dependencies["finalSnapshotIdentifier"]
    assert "finalSnapshotIdentifier" not in runs["dev"].one("aws:rds/instance:Instance").inputs


# --- invariants -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_data_is_private_encrypted_tls_only_and_protected_in_prod(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    prod = stack == "prod"
    database = run.one("aws:rds/instance:Instance")
    assert (database.inputs["storageEncrypted"], database.inputs["publiclyAccessible"]) == (True, False)
    assert "password" in database.secret_inputs
    assert (database.inputs["deletionProtection"], database.protect) == (prod, prod)
    parameters = run.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]
    assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"} in parameters
    redis = run.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert (redis.inputs["transitEncryptionEnabled"], redis.inputs["atRestEncryptionEnabled"]) == (True, True)
    assert "authToken" in redis.secret_inputs
    sse = run.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    alb = run.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["enableDeletionProtection"] is prod
    listeners = {lst.inputs["port"]: lst.inputs for lst in run.of_type("aws:lb/listener:Listener")}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners[80]["defaultActions"][0]["type"] == "redirect"
    for service in run.of_type(SERVICE):
        assert service.inputs["networkConfiguration"]["assignPublicIp"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_security_groups_admit_only_the_next_hop_on_each_servers_port(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    groups = {g.state["id"]: g.name for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    admitted = {
        (
            groups.get(
                rule.inputs.get("referencedSecurityGroupId", ""),
                rule.inputs.get("cidrIpv4") or rule.inputs.get("cidrIpv6"),
            ),
            groups[rule.inputs["securityGroupId"]],
            rule.inputs["fromPort"],
        )
        for rule in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    }
    assert admitted == {
        *((cidr, "mcp-alb", port) for cidr in ("0.0.0.0/0", "::/0") for port in (443, 80)),
        ("mcp-alb", "notes-tasks", 8000),
        ("mcp-alb", "tools-tasks", 3000),
        ("notes-tasks", "mcp-postgres", 5432),
        ("notes-tasks", "mcp-redis", 6379),
        ("mcp-backup", "mcp-postgres", 5432),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_no_wildcard_actions_and_no_wildcard_resources(runs: dict[str, ProgramRun], stack: str) -> None:
    for name, statements in policies(runs[stack]).items():
        for statement in statements:
            actions = statement["Action"]
            assert not any("*" in action for action in actions), (name, actions)
            if statement["Resource"] == "*":
                assert actions == ["ecr:GetAuthorizationToken"], (name, actions)


# --- names ------------------------------------------------------------------------------------

NAME_INPUTS = ("name", "family", "identifier", "replicationGroupId", "bucketPrefix")


def physical_names(run: ProgramRun) -> set[tuple[str, str]]:
    return {
        (r.type, str(r.inputs[key]))
        for r in run.resources
        for key in NAME_INPUTS
        if key in r.inputs
        and r.type != VERSION
        and not r.type.endswith("RolePolicy")
        and (key != "family" or r.type == TASK)  # a parameter group's family is an engine
    }


def test_two_stacks_in_one_account_ask_for_no_common_name(runs: dict[str, ProgramRun]) -> None:
    dev, other = physical_names(runs["dev"]), physical_names(runs["other"])
    assert len(dev) > 40
    assert dev & other == set()


def test_names_stay_within_aws_limits(runs: dict[str, ProgramRun]) -> None:
    limits = {
        "aws:lb/targetGroup:TargetGroup": 32,
        "aws:lb/loadBalancer:LoadBalancer": 32,
        "aws:iam/role:Role": 64,
        "aws:scheduler/schedule:Schedule": 64,
        "aws:elasticache/replicationGroup:ReplicationGroup": 40,
        "aws:rds/instance:Instance": 63,
    }
    for run in runs.values():
        for kind, name in physical_names(run):
            assert len(name) <= limits.get(kind, 255), (kind, name)


# --- refused up front -------------------------------------------------------------------------


def test_a_server_that_needs_what_the_platform_lacks_is_refused() -> None:
    platform = cast(Any, SimpleNamespace(postgres=None, redis=None))
    spec = resolve_server("notes", {"build": "server"})
    with pytest.raises(ServerArgsError, match=r"uses postgres, but the platform has none.*uses redis"):
        _check(spec, platform)
    ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/mcp:1"
    with pytest.raises(ServerArgsError, match="repository_credentials is for other registries"):
        _check(resolve_server("team", {"image": ecr, "repository_credentials": "{}"}), platform)
