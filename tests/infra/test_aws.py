"""target: aws-ecs, through the real program and the committed stack files, under mocks.
Each invariant is checked for dev and prod, and where prod must differ from dev, it does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_deploy.args import DRAIN_SECONDS
from mcp_deploy.aws.cron import CronNotSupported, eventbridge_cron
from tests.harness.plan import STACKS
from tests.harness.program import ProgramRun, run_program

TARGET = "aws-ecs"  # the conftest `runs` fixture runs both stacks for it


def container(run: ProgramRun, family: str) -> dict[str, Any]:
    task = run.named("aws:ecs/taskDefinition:TaskDefinition", family)
    [definition] = json.loads(task.inputs["containerDefinitions"])
    return definition


def policy_statements(run: ProgramRun) -> list[tuple[str, dict[str, Any]]]:
    statements = []
    for kind in ("aws:iam/rolePolicy:RolePolicy", "aws:s3/bucketPolicy:BucketPolicy"):
        for resource in run.of_type(kind):
            statements += [(resource.name, s) for s in json.loads(resource.inputs["policy"])["Statement"]]
    return statements


# --- registry and image ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_registry_scans_keeps_tags_immutable_and_expires_old_images(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    repository = run.one("aws:ecr/repository:Repository")
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    [rule] = json.loads(run.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    assert rule["selection"]["countNumber"] == {"dev": 20, "prod": 50}[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_the_image_is_built_for_amd64_and_deployed_by_digest(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    build = run.one("docker:index/image:Image")
    assert build.inputs["build"]["platform"] == "linux/amd64"
    assert (build.inputs["build"]["context"], build.inputs["build"]["dockerfile"]) == (
        "server",
        "server/Dockerfile",
    )
    assert build.inputs["imageName"].startswith(
        run.one("aws:ecr/repository:Repository").state["repositoryUrl"]
    )
    for family in ("mcp-server", "mcp-backup"):
        assert "@sha256:" in container(run, family)["image"]
    assert run.outputs["image"] == container(run, "mcp-server")["image"]


def test_a_prebuilt_image_skips_the_registry_and_is_pinned_to_its_digest() -> None:
    run = run_program("dev", "aws-ecs", overrides={"image": "ghcr.io/acme/mcp-notes:1.4.2"})
    assert run.error is None, run.error
    assert run.of_type("aws:ecr/repository:Repository") == []
    assert run.of_type("docker:index/image:Image") == []
    assert container(run, "mcp-server")["image"].startswith("ghcr.io/acme/mcp-notes@sha256:")
    actions = {a for _, s in policy_statements(run) for a in s["Action"] if a.startswith("ecr:")}
    assert actions == set(), "a non-ECR image needs no ECR permissions"


def test_a_prebuilt_ecr_image_may_be_pulled_from_exactly_its_repository() -> None:
    reference = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/mcp@sha256:" + "a" * 64
    run = run_program("dev", "aws-ecs", overrides={"image": reference})
    pulls = [s for _, s in policy_statements(run) if "ecr:BatchGetImage" in s["Action"]]
    assert [s["Resource"] for s in pulls] == ["arn:aws:ecr:us-east-1:123456789012:repository/team/mcp"]
    assert container(run, "mcp-server")["image"] == reference


# --- network ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "zones", "nats"), [("dev", 2, 1), ("prod", 3, 3)])
def test_vpc_spans_the_configured_zones_with_nat_per_zone_in_prod(
    runs: dict[str, ProgramRun], stack: str, zones: int, nats: int
) -> None:
    run = runs[stack]
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    public = [s for s in subnets if s.inputs["tags"]["tier"] == "public"]
    private = [s for s in subnets if s.inputs["tags"]["tier"] == "private"]
    assert (len(public), len(private)) == (zones, zones)
    assert {s.inputs["availabilityZone"] for s in private} == {f"us-east-1{z}" for z in "abc"[:zones]}
    assert all(s.inputs.get("mapPublicIpOnLaunch", False) is False for s in subnets)  # AWS default: off
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == nats
    private_routes = [r for r in run.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name]
    assert all("natGatewayId" in r.inputs["routes"][0] for r in private_routes)
    assert len({r.inputs["routes"][0]["natGatewayId"] for r in private_routes}) == nats


def test_an_existing_vpc_is_used_not_created() -> None:
    run = run_program(
        "dev",
        "aws-ecs",
        overrides={
            "awsVpcId": "vpc-0123456789abcdef0",
            "awsPublicSubnetIds": '["subnet-pub-a", "subnet-pub-b"]',
            "awsPrivateSubnetIds": '["subnet-priv-a", "subnet-priv-b"]',
        },
    )
    assert run.error is None, run.error
    assert run.of_type("aws:ec2/vpc:Vpc") == []
    assert run.of_type("aws:ec2/natGateway:NatGateway") == []
    service = run.one("aws:ecs/service:Service")
    assert service.inputs["networkConfiguration"]["subnets"] == ["subnet-priv-a", "subnet-priv-b"]
    assert run.one("aws:lb/loadBalancer:LoadBalancer").inputs["subnets"] == ["subnet-pub-a", "subnet-pub-b"]


# --- TLS and load balancer -------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_https_only_on_a_modern_policy_with_a_dns_validated_certificate(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    certificate = run.one("aws:acm/certificate:Certificate")
    # deleting first would fail while the listener holds it: replace create-first
    assert certificate.delete_before_replace is False
    assert (certificate.inputs["domainName"], certificate.inputs["validationMethod"]) == (
        {"dev": "mcp-dev.example.com", "prod": "mcp.example.com"}[stack],
        "DNS",
    )
    validation = run.named("aws:route53/record:Record", "mcp-tls-validation")
    assert validation.inputs["zoneId"] == {"dev": "ZEXAMPLEDEVZONE", "prod": "ZEXAMPLEPRODZONE"}[stack]
    listeners = {r.inputs["port"]: r for r in run.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {80, 443}
    https = listeners[443].inputs
    assert (https["protocol"], https["sslPolicy"]) == ("HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert (
        https["certificateArn"]
        == run.one("aws:acm/certificateValidation:CertificateValidation").state["certificateArn"]
    )
    redirect = listeners[80].inputs["defaultActions"][0]
    assert redirect["redirect"] == {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_mcp_paths_reach_the_tasks(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    https = next(r for r in run.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443)
    assert https.inputs["defaultActions"][0]["fixedResponse"]["statusCode"] == "404"
    rule = run.one("aws:lb/listenerRule:ListenerRule")
    paths = rule.inputs["conditions"][0]["pathPattern"]["values"]
    assert paths == ["/mcp", "/mcp/*", "/.well-known/oauth-protected-resource*"]  # never /metrics


@pytest.mark.parametrize("stack", STACKS)
def test_load_balancer_suits_streaming_and_drains_like_the_server(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    alb = run.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["idleTimeout"] >= 300
    assert alb["internal"] is False
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["enableDeletionProtection"] is (stack == "prod")
    group = run.one("aws:lb/targetGroup:TargetGroup").inputs
    assert group["healthCheck"]["path"] == "/health"
    assert group["deregistrationDelay"] > DRAIN_SECONDS
    alias = run.named("aws:route53/record:Record", "mcp-domain").inputs
    assert alias["type"] == "A"
    assert alias["aliases"][0]["name"] == run.one("aws:lb/loadBalancer:LoadBalancer").state["dnsName"]


def test_an_existing_certificate_is_used_and_dns_left_to_the_user() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    run = run_program("dev", "aws-ecs", overrides={"awsCertificateArn": arn, "awsHostedZoneId": ""})
    assert run.error is None, run.error
    assert run.of_type("aws:acm/certificate:Certificate") == []
    assert run.of_type("aws:route53/record:Record") == []
    https = next(r for r in run.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443)
    assert https.inputs["certificateArn"] == arn


# --- the service -----------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "cpu", "memory"), [("dev", "256", "512"), ("prod", "1024", "2048")])
def test_task_is_sized_from_config_and_hardened(
    runs: dict[str, ProgramRun], stack: str, cpu: str, memory: str
) -> None:
    run = runs[stack]
    task = run.named("aws:ecs/taskDefinition:TaskDefinition", "mcp-server").inputs
    assert (task["cpu"], task["memory"], task["requiresCompatibilities"]) == (cpu, memory, ["FARGATE"])
    server = container(run, "mcp-server")
    assert server["readonlyRootFilesystem"] is True
    assert server["user"] == "10001:10001"
    assert server["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert "/health" in server["healthCheck"]["command"][-1]
    assert server["stopTimeout"] > DRAIN_SECONDS
    logs = server["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup")
    assert logs["options"]["awslogs-group"] == log_group.state["name"]
    assert log_group.inputs["retentionInDays"] == {"dev": 7, "prod": 90}[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_reach_the_container_only_by_reference(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    secrets = {s.name: s.state["arn"] for s in run.of_type("aws:secretsmanager/secret:Secret")}
    assert set(secrets) == {"mcp-database-url", "mcp-redis-url", "mcp-request-state-key"}
    server = container(run, "mcp-server")
    assert {s["name"]: s["valueFrom"] for s in server["secrets"]} == {
        "DATABASE_URL": secrets["mcp-database-url"],
        "REDIS_URL": secrets["mcp-redis-url"],
        "MCP_REQUEST_STATE_KEY": secrets["mcp-request-state-key"],
    }
    environment = json.dumps(server["environment"]).lower()
    for leak in ("password", "postgresql://", "rediss://", "token", "secret"):
        assert leak not in environment, leak
    for version in run.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert "secretString" in version.secret_inputs
    [reads] = [s for name, s in policy_statements(run) if "secretsmanager:GetSecretValue" in s["Action"]]
    assert sorted(reads["Resource"]) == sorted(secrets.values())  # exactly these, nothing else


@pytest.mark.parametrize(("stack", "low", "high"), [("dev", 1, 2), ("prod", 3, 12)])
def test_service_is_private_rolls_back_and_autoscales_within_bounds(
    runs: dict[str, ProgramRun], stack: str, low: int, high: int
) -> None:
    run = runs[stack]
    service = run.one("aws:ecs/service:Service")
    inputs = service.inputs
    assert inputs["networkConfiguration"]["assignPublicIp"] is False
    private = {
        s.state["id"] for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "private"
    }
    assert set(inputs["networkConfiguration"]["subnets"]) == private
    assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert inputs["deploymentMinimumHealthyPercent"] == 100
    assert service.ignore_changes == ("desiredCount",)
    # ECS rejects a target group that no listener rule forwards to yet
    assert run.one("aws:lb/listenerRule:ListenerRule").urn in service.dependencies
    target = run.one("aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (low, high)
    metrics = {
        p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]
        for p in run.of_type("aws:appautoscaling/policy:Policy")
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    cluster = run.one("aws:ecs/cluster:Cluster").inputs
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]


# --- data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_redis_is_encrypted_and_authenticated_ha_in_prod(runs: dict[str, ProgramRun], stack: str) -> None:
    redis = runs[stack].one("aws:elasticache/replicationGroup:ReplicationGroup")
    inputs = redis.inputs
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["atRestEncryptionEnabled"] is True
    assert "authToken" in redis.secret_inputs
    prod = stack == "prod"
    assert (inputs["automaticFailoverEnabled"], inputs["multiAzEnabled"]) == (prod, prod)
    assert inputs["numCacheClusters"] == (2 if prod else 1)


@pytest.mark.parametrize("stack", STACKS)
def test_postgres_is_private_encrypted_ssl_only_and_protected_in_prod(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    database = run.one("aws:rds/instance:Instance")
    inputs = database.inputs
    prod = stack == "prod"
    assert inputs["storageEncrypted"] is True
    assert inputs["publiclyAccessible"] is False
    assert "password" in database.secret_inputs
    assert inputs["backupRetentionPeriod"] == (14 if prod else 1)
    assert inputs["multiAz"] is prod
    assert inputs["deletionProtection"] is prod
    assert inputs["skipFinalSnapshot"] is (not prod)
    assert ("finalSnapshotIdentifier" in inputs) is prod
    assert database.protect is prod
    parameters = run.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]
    assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"} in parameters
    subnets = run.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"]
    private = {
        s.state["id"] for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "private"
    }
    assert set(subnets) == private


# --- backups ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "days", "cron"), [("dev", 7, "cron(0 3 * * ? *)"), ("prod", 90, "cron(15 2 * * ? *)")]
)
def test_backup_bucket_is_locked_down_and_dumps_run_on_schedule(
    runs: dict[str, ProgramRun], stack: str, days: int, cron: str
) -> None:
    run = runs[stack]
    block = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert (
        run.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"]
        == "Enabled"
    )
    sse = run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    [rule] = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert rule["expiration"]["days"] == days
    [deny] = [s for name, s in policy_statements(run) if s.get("Sid") == "TlsOnly"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    schedule = run.one("aws:scheduler/schedule:Schedule").inputs
    assert (schedule["scheduleExpression"], schedule["scheduleExpressionTimezone"]) == (cron, "UTC")
    backup_task = run.named("aws:ecs/taskDefinition:TaskDefinition", "mcp-backup")
    assert schedule["target"]["ecsParameters"]["taskDefinitionArn"] == backup_task.state["arn"]
    job = container(run, "mcp-backup")
    assert job["command"] == ["backup"]
    assert [s["name"] for s in job["secrets"]] == ["DATABASE_URL"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_backup_job_may_only_put_objects_under_its_prefix(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    run = runs[stack]
    [statement] = [s for name, s in policy_statements(run) if name == "mcp-backup-task"]
    bucket = run.one("aws:s3/bucket:Bucket").state["arn"]
    assert statement["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert statement["Resource"] == f"{bucket}/postgres/*"


@pytest.mark.parametrize("stack", STACKS)
def test_restoring_has_a_read_only_role_and_a_ready_command(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    reads = [s for name, s in policy_statements(run) if name == "mcp-restore-task"]
    bucket = run.one("aws:s3/bucket:Bucket").state["arn"]
    assert [(s["Action"], s["Resource"]) for s in reads] == [
        (["s3:GetObject"], f"{bucket}/postgres/*"),
        (["s3:ListBucket"], bucket),
    ]
    command = run.outputs["restore_command"]
    role = run.named("aws:iam/role:Role", "mcp-restore-task").state["arn"]
    backup_group = run.named("aws:ec2/securityGroup:SecurityGroup", "mcp-backup").state["id"]
    assert command.startswith("aws ecs run-task --cluster mcp-cluster-")
    for part in ("--task-definition mcp-backup", backup_group, role, '"command": ["restore", "latest"]'):
        assert part in command


# --- least privilege -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_security_groups_admit_only_the_next_hop(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    groups = {
        g.state["id"]: g.name.removeprefix("mcp-") for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")
    }
    admitted: set[tuple[str, str, int]] = set()
    for rule in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        source = groups.get(
            rule.inputs.get("referencedSecurityGroupId", ""),
            rule.inputs.get("cidrIpv4") or rule.inputs.get("cidrIpv6"),
        )
        admitted.add((str(source), groups[rule.inputs["securityGroupId"]], rule.inputs["fromPort"]))
    assert admitted == {
        ("0.0.0.0/0", "alb", 443),
        ("::/0", "alb", 443),
        ("0.0.0.0/0", "alb", 80),
        ("::/0", "alb", 80),
        ("alb", "tasks", 8000),
        ("tasks", "postgres", 5432),
        ("backup", "postgres", 5432),
        ("tasks", "redis", 6379),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_no_wildcard_actions_and_no_wildcard_resources_on_data(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    for name, statement in policy_statements(runs[stack]):
        if statement["Effect"] == "Deny":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any("*" in action for action in actions), (name, actions)
        if statement["Resource"] == "*":
            assert actions == ["ecr:GetAuthorizationToken"], (name, actions)  # has no resource form


# --- alarms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "redis_nodes"), [("dev", 1), ("prod", 2)])
def test_alarms_cover_the_service_and_its_data_and_notify_the_topic(
    runs: dict[str, ProgramRun], stack: str, redis_nodes: int
) -> None:
    run = runs[stack]
    topic = run.one("aws:sns/topic:Topic")
    alarms = {a.name.removeprefix("mcp-"): a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    expected = {
        "5xx-rate",
        "latency-p99",
        "unhealthy-hosts",
        "service-cpu",
        "service-memory",
        "postgres-cpu",
        "postgres-storage",
        *(f"redis-memory-{n + 1}" for n in range(redis_nodes)),
    }
    assert set(alarms) == expected
    assert all(a.inputs["alarmActions"] == [topic.state["arn"]] for a in alarms.values())
    assert alarms["latency-p99"].inputs["extendedStatistic"] == "p99"
    # an outage shows as the ALB's own 5xx (no healthy task), not the target's: count both
    counted = {q["metric"]["metricName"] for q in alarms["5xx-rate"].inputs["metricQueries"] if "metric" in q}
    assert counted == {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"}
    # a customer-managed key CloudWatch may use: with alias/aws/sns alarms never get delivered
    key = run.one("aws:kms/key:Key")
    assert topic.inputs["kmsMasterKeyId"] == key.state["arn"]
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    publisher = statements["CloudWatchPublishesAlarms"]
    assert publisher["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publisher["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statements["AccountAdministersTheKey"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    subscriptions = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    if stack == "prod":
        assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions] == [
            ("email", "oncall@example.com")
        ]
    else:
        assert subscriptions == []  # dev sets no alertEmail


@pytest.mark.parametrize("stack", STACKS)
def test_outputs(runs: dict[str, ProgramRun], stack: str) -> None:
    outputs = runs[stack].outputs
    domain = {"dev": "mcp-dev.example.com", "prod": "mcp.example.com"}[stack]
    assert outputs["url"] == f"https://{domain}"
    assert outputs["mcp_endpoint"] == f"https://{domain}/mcp"
    assert outputs["database"] == runs[stack].one("aws:rds/instance:Instance").state["identifier"]
    assert outputs["backup_bucket"] == runs[stack].one("aws:s3/bucket:Bucket").state["bucket"]


# --- cron ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unix", "eventbridge"),
    [
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("30 1 * * 0", "cron(30 1 ? * 1 *)"),  # Sunday is 0 in unix cron, 1 in EventBridge
        ("0 4 * * 1-5", "cron(0 4 ? * 2-6 *)"),
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("*/15 * * * *", "cron(*/15 * * * ? *)"),
    ],
)
def test_unix_cron_becomes_eventbridge_cron(unix: str, eventbridge: str) -> None:
    assert eventbridge_cron(unix) == eventbridge


def test_a_schedule_eventbridge_cannot_express_is_refused() -> None:
    with pytest.raises(CronNotSupported):
        eventbridge_cron("0 3 1 * 1")
    run = run_program("dev", "aws-ecs", overrides={"backupSchedule": "0 3 1 * 1"})
    assert (
        'mcp-deploy:backupSchedule: got "0 3 1 * 1"; allowed: on aws-ecs, a day of the month or a day'
        in str(run.error)
    )
    assert run.resources == []
