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
from mcp_deploy.aws.platform.edge import waf_limit
from mcp_deploy.aws.server import _check
from mcp_deploy.platform_spec import PlatformArgsError
from mcp_deploy.server_spec import DRAIN_SECONDS, ServerArgsError, resolve_server
from tests.harness.graph import transitive_dependencies
from tests.harness.library import run_aws_platform
from tests.harness.monitor import Registration
from tests.harness.physical_names import physical_names as scoped_names
from tests.harness.program import ProgramRun, run_program

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "aws_program"
STACKS = ("dev", "prod")
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
# (long window, short window) of each burn rate, as the SRE workbook's multiwindow alerts pair them.
SLO_WINDOWS = (("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h"))


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
    assert sorted(s.name for s in run.of_type(SERVICE)) == ["mcp-gateway", "notes-server", "tools-server"]
    # Only notes has a database (and its URL, and the step that creates its role and database).
    database_secrets = [
        s.name for s in run.of_type("aws:secretsmanager/secret:Secret") if "database-url" in s.name
    ]
    assert database_secrets == ["notes-database-url"]
    # notes serves /metrics, so a collector scrapes it beside the server, with a task role for
    # what it sends; tools serves none and the fixture does not trace: no collector, no task role.
    assert set(containers(run, "notes-server")) == {"provision-db", "server", "collector"}
    assert set(containers(run, "tools-server")) == {"server"}
    collector_role = run.named("aws:iam/role:Role", "notes-task").state["arn"]
    assert run.named(TASK, "notes-server").inputs["taskRoleArn"] == collector_role
    assert "taskRoleArn" not in run.named(TASK, "tools-server").inputs


@pytest.mark.parametrize("stack", STACKS)
def test_the_load_balancers_only_target_is_the_gateway(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    assert run.of_type("aws:lb/listenerRule:ListenerRule") == []
    [group] = run.of_type("aws:lb/targetGroup:TargetGroup")
    assert group.name == "mcp-gateway"
    assert (group.inputs["port"], group.inputs["healthCheck"]["path"]) == (8080, "/ready")
    assert group.inputs["deregistrationDelay"] > DRAIN_SECONDS
    https = next(lst for lst in run.of_type("aws:lb/listener:Listener") if lst.inputs["port"] == 443)
    assert https.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": group.state["arn"]}]
    assert run.one("aws:lb/loadBalancer:LoadBalancer").inputs["idleTimeout"] == 900
    balanced = {s.name: s.inputs.get("loadBalancers") for s in run.of_type(SERVICE)}
    assert balanced.pop("mcp-gateway") == [
        {"targetGroupArn": group.state["arn"], "containerName": "gateway", "containerPort": 8080}
    ]
    assert not any(balanced.values()), balanced  # no server is behind the load balancer
    assert run.named(SERVICE, "mcp-gateway").inputs["desiredCount"] >= 2


def routes(run: ProgramRun) -> dict[str, Any]:
    env = {e["name"]: e["value"] for e in containers(run, "mcp-gateway")["gateway"]["environment"]}
    return json.loads(env["GATEWAY_ROUTES"])


@pytest.mark.parametrize("stack", STACKS)
def test_the_gateway_routes_every_server_to_its_service_connect_name(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    assert routes(run) == {
        "notes": {"upstream": "http://notes:8000", "path": "/mcp", "scopes": ["notes:read", "notes:write"],
                  "sticky": False, "discovery": "none"},
        "tools": {"upstream": "http://tools:3000", "path": "/mcp", "scopes": [], "sticky": False,
                  "discovery": "none"},
    }  # fmt: skip
    namespace = run.one("aws:servicediscovery/httpNamespace:HttpNamespace").state["arn"]
    assert run.one("aws:ecs/cluster:Cluster").inputs["serviceConnectDefaults"] == {"namespace": namespace}
    for service, port_name, alias, port in (
        ("notes-server", "mcp", "notes", 8000),
        ("tools-server", "mcp", "tools", 3000),
    ):
        connect = run.named(SERVICE, service).inputs["serviceConnectConfiguration"]
        assert (connect["enabled"], connect["namespace"]) == (True, namespace)
        [published] = connect["services"]
        assert (published["portName"], published["clientAlias"]) == (
            port_name,
            [{"dnsName": alias, "port": port}],
        )
        # The proxy must not cut streams: no per-request limit, idle as long as the ALB's.
        assert published["timeout"] == {"idleTimeoutSeconds": 900, "perRequestTimeoutSeconds": 0}
        container = next(c for c in containers(run, service).values() if c.get("portMappings"))
        assert container["portMappings"][0]["name"] == port_name
        assert container["portMappings"][0]["containerPort"] == port
    # The gateway calls them all and publishes nothing: servers reach it by DNS (next tests).
    gateway = run.named(SERVICE, "mcp-gateway").inputs["serviceConnectConfiguration"]
    assert gateway == {"enabled": True, "namespace": namespace}


@pytest.mark.parametrize("stack", STACKS)
def test_servers_reach_the_gateways_jwks_through_dns_records_made_before_them(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    """Not through Service Connect: on a first `pulumi up` the servers start before the gateway,
    and a task resolves only the Service Connect names that existed when it started."""
    run = runs[stack]
    namespace = run.one("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    records = run.named("aws:servicediscovery/service:Service", "mcp-gateway-tasks")
    assert records.inputs["name"] == "gateway"
    assert records.inputs["dnsConfig"]["namespaceId"] == namespace.state["id"]
    assert [r["type"] for r in records.inputs["dnsConfig"]["dnsRecords"]] == ["A"]
    gateway = run.named(SERVICE, "mcp-gateway")
    assert gateway.inputs["serviceRegistries"] == {"registryArn": records.state["arn"]}
    env = {e["name"]: e["value"] for e in containers(run, "notes-server")["server"]["environment"]}
    assert env["AUTH_JWKS_URL"] == f"http://gateway.{namespace.inputs['name']}:8080/.well-known/jwks.json"
    # The records exist without the gateway: nothing of the gateway's or a server's comes first.
    server = run.named(SERVICE, "notes-server")
    assert gateway.urn not in transitive_dependencies(run, records)
    assert server.urn not in transitive_dependencies(run, records)
    assert gateway.urn not in transitive_dependencies(run, server)


def test_a_sticky_server_is_reached_through_its_replicas_dns_records(runs: dict[str, ProgramRun]) -> None:
    run = runs["other"]
    namespace = run.one("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    records = run.named("aws:servicediscovery/service:Service", "tools-replicas").inputs
    assert records["dnsConfig"]["namespaceId"] == namespace.state["id"]
    assert records["dnsConfig"]["routingPolicy"] == "MULTIVALUE"
    assert [r["type"] for r in records["dnsConfig"]["dnsRecords"]] == ["A"]
    tools = run.named(SERVICE, "tools-server").inputs
    assert tools["serviceRegistries"] == {
        "registryArn": run.named("aws:servicediscovery/service:Service", "tools-replicas").state["arn"]
    }
    assert "services" not in tools["serviceConnectConfiguration"]  # a client only
    assert routes(run)["tools"] == {
        "upstream": f"http://tools.{namespace.inputs['name']}:3000",
        "path": "/mcp",
        "scopes": [],
        "sticky": True,
        "discovery": "dns",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_the_gateways_signing_key_and_redis_url_are_secrets_by_reference(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    key = run.one("tls:index/privateKey:PrivateKey")
    assert (key.inputs["algorithm"], key.inputs["ecdsaCurve"]) == ("ECDSA", "P256")
    secrets = {s.name: s.state["arn"] for s in run.of_type("aws:secretsmanager/secret:Secret")}
    gateway = containers(run, "mcp-gateway")["gateway"]
    assert gateway["secrets"] == [
        {"name": "GATEWAY_SIGNING_KEY", "valueFrom": secrets["mcp-gateway-signing-key"]},
        {"name": "REDIS_URL", "valueFrom": secrets["mcp-gateway-redis-url"]},
    ]
    version = run.named(VERSION, "mcp-gateway-signing-key")
    assert "secretString" in version.secret_inputs
    assert key.urn in version.property_dependencies["secretString"]
    env = {e["name"]: e["value"] for e in gateway["environment"]}
    assert not {"GATEWAY_SIGNING_KEY", "REDIS_URL"} & set(env)
    assert env["REDIS_KEY_PREFIX"] == "gateway:"
    domain = f"mcp-{stack}.example.com"
    assert (env["GATEWAY_PUBLIC_URL"], env["GATEWAY_ISSUER"], env["AUTH_ISSUER"]) == (
        f"https://{domain}",
        f"https://{domain}/gateway",
        "https://auth.example.com",
    )
    assert env.get("GATEWAY_ALLOWED_ORIGINS") == ("https://app.example.com" if stack == "prod" else None)
    [reads] = [
        s for s in policies(run)["mcp-gateway-execution"] if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert sorted(reads["Resource"]) == sorted(
        [secrets["mcp-gateway-signing-key"], secrets["mcp-gateway-redis-url"]]
    )


@pytest.mark.parametrize("stack", STACKS)
def test_waf_limits_each_address_in_front_of_the_load_balancer(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    acl = run.one("aws:wafv2/webAcl:WebAcl")
    association = run.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs
    assert association == {
        "resourceArn": run.one("aws:lb/loadBalancer:LoadBalancer").state["arn"],
        "webAclArn": acl.state["arn"],
    }
    assert acl.inputs["scope"] == "REGIONAL"
    [rule] = acl.inputs["rules"]
    rate = rule["statement"]["rateBasedStatement"]
    # 1200 a minute (the default) over WAF's 5-minute window; the connecting address, not a header.
    assert (rate["limit"], rate["evaluationWindowSec"], rate["aggregateKeyType"]) == (6000, 300, "IP")
    assert rule["action"]["block"]["customResponse"]["responseCode"] == 429


@pytest.mark.parametrize(("per_minute", "ok"), [(1, False), (2, True), (1200, True), (500_000_000, False)])
def test_the_edge_rate_stays_within_what_waf_accepts(per_minute: int, ok: bool) -> None:
    if ok:
        assert 10 <= waf_limit(per_minute) <= 2_000_000_000
    else:
        with pytest.raises(PlatformArgsError, match="edge_requests_per_minute"):
            waf_limit(per_minute)


@pytest.mark.parametrize("stack", STACKS)
def test_our_server_trusts_the_gateways_tokens(runs: dict[str, ProgramRun], stack: str) -> None:
    env = {e["name"]: e["value"] for e in containers(runs[stack], "notes-server")["server"]["environment"]}
    domain = f"mcp-{stack}.example.com"
    assert env["AUTH_ISSUER"] == f"https://{domain}/gateway"
    assert env["AUTH_JWKS_URL"] == f"http://gateway.{stack}-mcp-tasks.internal:8080/.well-known/jwks.json"
    assert env["AUTH_JWKS_ALLOW_HTTP"] == "true"
    assert env["AUTH_AUDIENCE"] == f"https://{domain}/notes/mcp"
    tools = {e["name"] for e in containers(runs[stack], "tools-server")["server"]["environment"]}
    assert not {n for n in tools if n.startswith("AUTH_")}  # it verifies no tokens: nothing to trust


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
    schedules = {s.name: s for s in run.of_type("aws:scheduler/schedule:Schedule")}
    assert set(schedules) == {"notes-backup", "notes-drill"}
    # Both scheduled tasks read notes' URL at start; the drill also the admin URL (its scratch copy).
    for job, reads in (("backup", {"notes-database-url"}), ("drill", {"notes-database-url", admin.name})):
        schedule = schedules[f"notes-{job}"]
        assert {run.named(VERSION, v).urn for v in reads} <= transitive(run, schedule), job
        scheduler = run.named("aws:iam/rolePolicy:RolePolicy", f"notes-{job}-scheduler")
        assert scheduler.urn in schedule.dependencies, job


@pytest.mark.parametrize("stack", STACKS)
def test_the_gateway_starts_after_its_secrets_grants_listener_and_every_server(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    gateway = run.named(SERVICE, "mcp-gateway")
    needs = transitive(run, gateway)
    for version in ("mcp-gateway-signing-key", "mcp-gateway-redis-url"):
        assert run.named(VERSION, version).urn in needs
    assert run.named("aws:iam/rolePolicy:RolePolicy", "mcp-gateway-execution").urn in needs
    assert run.one("aws:elasticache/replicationGroup:ReplicationGroup").urn in needs
    https = next(lst for lst in run.of_type("aws:lb/listener:Listener") if lst.inputs["port"] == 443)
    assert https.urn in gateway.dependencies
    for server in ("notes-server", "tools-server"):
        assert run.named(SERVICE, server).urn in gateway.dependencies
    assert gateway.inputs["waitForSteadyState"] is True


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
def test_alarms_fire_on_a_failed_backup_and_on_a_backup_period_without_one(
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
    # The fixture backs prod up on weekdays only: Friday to Monday is its longest gap (72 h + 2).
    hours = 74 if stack == "prod" else 26
    window = (missing["period"], missing["evaluationPeriods"], missing["datapointsToAlarm"])
    assert window == (3600, hours, hours)
    assert (missing["comparisonOperator"], missing["threshold"], missing["treatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    # The SLO burn-rate windows notify no one themselves: each pair feeds a composite that does.
    burn_rates = [
        (f"{server}-slo-{indicator}-{long}", long, short)
        for server in ("notes", "tools")
        for indicator in ("availability", "latency")
        for long, short in SLO_WINDOWS
    ]
    windows = {f"{name}-{window}" for name, long, short in burn_rates for window in (long, short)}
    assert {name for name, a in alarms.items() if "alarmActions" not in a} == windows
    for name in windows:
        assert not {"alarmActions", "okActions", "insufficientDataActions"} & set(alarms[name]), name
    assert all(a["alarmActions"] == [topic] for name, a in alarms.items() if name not in windows)
    composites = {a.name: a.inputs for a in run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    assert set(composites) == {name for name, _, _ in burn_rates}
    for name, long, short in burn_rates:
        composite = composites[name]
        assert (composite["alarmActions"], composite["okActions"]) == ([topic], [topic]), name
        both = (alarms[f"{name}-{long}"]["name"], alarms[f"{name}-{short}"]["name"])
        assert composite["alarmRule"] == 'ALARM("{}") AND ALARM("{}")'.format(*both), name


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
        ("*/15 * * * *", "cron(0/15 * * * ? *)"),  # start/increment, the form EventBridge documents
        ("0 3 * * */2", "cron(0 3 ? * 1,3,5,7 *)"),  # no `/` in EventBridge's day of the week
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
def test_security_groups_admit_only_the_next_hop_and_servers_only_the_gateway(
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
        ("mcp-alb", "mcp-gateway", 8080),
        ("mcp-gateway", "notes-tasks", 8000),
        ("mcp-gateway", "tools-tasks", 3000),
        ("notes-tasks", "mcp-gateway", 8080),  # the gateway's JWKS, for our server only
        ("mcp-gateway", "mcp-redis", 6379),
        ("notes-tasks", "mcp-postgres", 5432),
        ("notes-tasks", "mcp-redis", 6379),
        ("mcp-backup", "mcp-postgres", 5432),
    }
    assert not {target for source, target, _ in admitted if source == "mcp-alb"} - {"mcp-gateway"}


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
    # The harness's names carry their scope (a Cloud Map service's is its stack's own namespace).
    dev, other = set(scoped_names(runs["dev"])), set(scoped_names(runs["other"]))
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
        "aws:wafv2/webAcl:WebAcl": 128,
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


def test_a_size_fargate_cannot_run_is_refused_on_the_python_api_too() -> None:
    """Stack config is checked in config.py; a program that builds AwsServer itself is checked
    here, before anything is registered (RegisterTaskDefinition would refuse it at `pulumi up`)."""
    platform = cast(Any, SimpleNamespace(postgres=None, redis=None))
    image = "ghcr.io/example/mcp:1"
    _check(resolve_server("small", {"image": image, "cpu": 512, "memory": 2048}), platform)
    with pytest.raises(ServerArgsError, match=r"memory 1024: with cpu 1024, Fargate takes 2048 to 8192 MiB"):
        _check(resolve_server("big", {"image": image, "cpu": 1024}), platform)
    with pytest.raises(ServerArgsError, match=r"cpu 300 is not a Fargate size: 256, 512, 1024"):
        _check(resolve_server("odd", {"image": image, "cpu": 300, "memory": 1024}), platform)


# Service Connect's metrics in AWS/ECS (ECS CloudWatch metrics, "Service Connect metrics"): the
# target metrics exist per TargetDiscoveryName, alone or with the calling service's ClusterName and
# ServiceName; RequestCount also per DiscoveryName, with the receiving service's.
TARGET_METRICS = {"HTTPCode_Target_2XX_Count", "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count"}
TARGET_METRICS |= {"TargetResponseTime", "RequestCountPerTarget"}


def service_connect_metrics(run: ProgramRun) -> list[tuple[str, str, dict[str, Any]]]:
    """(alarm, metric, dimensions) of every alarm metric of Service Connect's."""
    found = []
    for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        metrics = [q["metric"] for q in alarm.inputs.get("metricQueries") or [] if "metric" in q]
        if "metricName" in alarm.inputs:
            metrics.append(alarm.inputs)
        for m in metrics:
            if m.get("namespace") == "AWS/ECS" and (
                m["metricName"] in TARGET_METRICS or m["metricName"] == "RequestCount"
            ):
                found.append((alarm.name, m["metricName"], dict(m.get("dimensions") or {})))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_service_connect_alarms_query_dimension_sets_that_are_published(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    """A metric queried under a set it is not published under matches nothing, and with missing
    data treated as not breaching the alarm would never fire."""
    run = runs[stack]
    cluster = run.one("aws:ecs/cluster:Cluster").state["name"]
    gateway = run.named(SERVICE, "mcp-gateway").inputs["name"]
    found = service_connect_metrics(run)
    assert {metric for _, metric, _ in found} >= {
        "HTTPCode_Target_5XX_Count",
        "TargetResponseTime",
        "RequestCount",
    }
    for alarm, metric, dims in found:
        # Per stack: TargetDiscoveryName alone would mix two stacks' servers of the same name.
        assert set(dims) == {"ClusterName", "ServiceName", "TargetDiscoveryName"}, (alarm, metric, dims)
        assert dims["ClusterName"] == cluster, alarm
        assert dims["ServiceName"] == gateway, (alarm, dims)


def test_a_gateway_size_fargate_cannot_run_stops_a_library_program_before_any_resource(
    tmp_path: Path,
) -> None:
    """The Python API, no stack config: AwsPlatform refuses the gateway's size up front."""
    run = run_aws_platform(tmp_path, gateway={"cpu": 1024})
    assert run.error is not None
    assert "gateway memory 1024: with gateway cpu 1024, Fargate takes 2048 to 8192 MiB" in str(run.error)
    assert not [r for r in run.resources if r.custom]
