"""Bad stack config stops the real program before any resource, with one message that names
every bad key, the value given and what is allowed."""

import json

import pytest

from mcp_deploy.config import StackConfig, parse_stack_config
from mcp_deploy.config_errors import ConfigError
from tests.harness.program import ProgramRun, run_program

# The keys every stack must set, with valid values.
REQUIRED = {
    "domain": "mcp.example.com",
    "authIssuer": "https://auth.example.com/",
    "awsHostedZoneId": "ZEXAMPLE",
    "k8sRegistry": "registry.example.com/team/mcp",
    "k8sGatewayClass": "eg",
    "k8sEntryNamespace": "envoy-gateway-system",
}


def servers(**entries: dict[str, object]) -> str:
    """A `servers:` value as the CLI hands it over (JSON text)."""
    return json.dumps(entries)


def failed(stack: str, **overrides: str) -> ConfigError:
    run = run_program(stack, overrides=overrides)
    assert isinstance(run.error, ConfigError), f"expected a ConfigError, got {run.error!r}"
    assert run.resources == [], "bad config must stop the program before any resource"
    return run.error


def lines_of(error: ConfigError) -> list[str]:
    return str(error).splitlines()[1:]


@pytest.mark.parametrize(
    ("stack", "overrides", "expected_line"),
    [
        pytest.param(
            "dev",
            {"target": "azure-aci"},
            "mcp-deploy:target: got azure-aci; allowed: aws-ecs, gcp-cloudrun, kubernetes",
            id="unknown-target",
        ),
        pytest.param(
            "dev",
            {"severs": "{}"},
            "mcp-deploy:severs: got {}; allowed: no such key (did you mean servers?)",
            id="unknown-key",
        ),
        pytest.param(
            "dev",
            {"servers": servers(notes={"build": "server", "replicas": {"min": -1}})},
            "mcp-deploy:servers.notes.replicas.min: got -1; allowed: greater than or equal to 0",
            id="negative-number",
        ),
        pytest.param(
            "prod",
            {"postgresStorageGb": "50000"},
            "mcp-deploy:postgresStorageGb: got 50000; allowed: a whole number from 20 to 16384",
            id="oversized-number",
        ),
        pytest.param(
            "dev",
            {"servers": servers(notes={"build": "server", "replicas": {"min": 4, "max": 2}})},
            "mcp-deploy:servers.notes.replicas.max: got 2; allowed: at least replicas.min (4)",
            id="max-below-min",
        ),
        pytest.param(
            "dev",
            {"domain": "https://mcp.example.com/"},
            "mcp-deploy:domain: got https://mcp.example.com/; allowed: a lowercase hostname "
            "with a dot and no scheme, port or path, e.g. mcp.example.com",
            id="malformed-domain",
        ),
        pytest.param(
            "prod",
            {"backupRetentionDays": "0"},
            "mcp-deploy:backupRetentionDays: got 0; allowed: a whole number from 1 to 3650",
            id="backup-retention-zero",
        ),
        pytest.param(
            "prod",
            {"authIssuer": ""},
            "mcp-deploy:authIssuer: got nothing; allowed: https URL of the OAuth 2.1 issuer whose JWKS "
            "signs access tokens (required: the deployed server refuses unauthenticated traffic)",
            id="prod-without-auth-issuer",
        ),
        pytest.param(
            "dev",
            {"servers": servers(notes={"build": "server", "cpu": 300})},
            "mcp-deploy:servers.notes.cpu: got 300; allowed: a Fargate size: 256, 512, 1024, 2048, "
            "4096, 8192, 16384",
            id="not-a-fargate-size",
        ),
        pytest.param(
            "prod",
            {"postgresDeletionProtection": "false"},
            "mcp-deploy:postgresDeletionProtection: got false; allowed: true in production",
            id="prod-without-deletion-protection",
        ),
        pytest.param(
            "prod",
            {"alertEmail": "on-call"},
            "mcp-deploy:alertEmail: got on-call; allowed: an email address like oncall@example.com",
            id="malformed-email",
        ),
        pytest.param(
            "dev",
            {"awsHostedZoneId": ""},
            "mcp-deploy:awsHostedZoneId: got nothing; allowed: the domain's Route 53 zone id, "
            "or awsCertificateArn (then point DNS at the ALB yourself)",
            id="aws-without-zone-or-certificate",
        ),
        pytest.param(
            "prod",
            {"awsVpcId": "vpc-0abc", "awsPublicSubnetIds": '["subnet-a", "subnet-b"]'},
            "mcp-deploy:awsPrivateSubnetIds: got []; "
            "allowed: with awsVpcId, at least two public and two private subnet ids",
            id="existing-vpc-without-private-subnets",
        ),
        pytest.param(
            "dev",
            {"awsVpcCidr": "8.8.0.0/16"},
            "mcp-deploy:awsVpcCidr: got 8.8.0.0/16; allowed: a private IPv4 range from /16 to /22, "
            "e.g. 10.0.0.0/16",
            id="public-vpc-range",
        ),
        pytest.param(
            "dev",
            {"backupSchedule": "daily"},
            "mcp-deploy:backupSchedule: got daily; allowed: a 5-field cron expression "
            "(minute hour day month weekday), e.g. 0 3 * * *",
            id="malformed-schedule",
        ),
    ],
)
def test_each_bad_value_gets_one_readable_line(
    stack: str, overrides: dict[str, str], expected_line: str
) -> None:
    error = failed(stack, **overrides)
    assert str(error).startswith("invalid stack config (1 problem):\n")
    [line] = lines_of(error)
    assert line == "  " + expected_line


def test_every_problem_is_named_in_one_message() -> None:
    error = failed(
        "prod",
        target="azure-aci",
        severs="{}",
        servers=servers(notes={"build": "server", "port": 0}, tools={"port": 3000}),
        domain="MCP.example.com",
        backupRetentionDays="0",
        authIssuer="",
        alertEmail="",
    )
    keys = [line.split(":")[1] for line in lines_of(error)]
    assert keys == sorted(
        [
            "alertEmail",
            "authIssuer",
            "backupRetentionDays",
            "domain",
            "servers.notes.port",
            "servers.tools.build",
            "severs",
            "target",
        ]
    )
    assert str(error).startswith("invalid stack config (8 problems):")


def test_secret_keys_must_be_stored_as_secrets_and_are_never_echoed() -> None:
    leaked = "Plaintext-Password-For-The-Test-Only"
    error = failed("dev", postgresPassword=leaked)
    assert leaked not in str(error)
    assert lines_of(error) == [
        "  mcp-deploy:postgresPassword: got [secret] stored as plain text; "
        "allowed: a secret: pulumi config set --secret postgresPassword"
    ]


def test_invalid_secret_values_are_reported_without_their_value() -> None:
    values = {**REQUIRED, "target": "kubernetes", "postgresPassword": "too-short"}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, secret={"postgresPassword"})
    assert "too-short" not in str(caught.value)
    assert "mcp-deploy:postgresPassword: got [secret]; allowed: 16 to 128 characters" in str(caught.value)


def test_server_secrets_name_stack_keys_that_must_be_secret() -> None:
    entry = {"image": "docker.io/acme/tools:1.0", "secrets": {"API_KEY": "toolsApiKey"}}
    values = {**REQUIRED, "target": "kubernetes", "servers": servers(tools=entry)}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, secret=set())
    assert lines_of(caught.value) == [
        "  mcp-deploy:servers.tools.secrets.API_KEY: got toolsApiKey (not set); "
        "allowed: the name of a secret stack key: pulumi config set --secret toolsApiKey ..."
    ]
    leaked = "Plaintext-Api-Key-For-The-Test-Only"
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({**values, "toolsApiKey": leaked}, secret=set())
    assert leaked not in str(caught.value)
    assert "mcp-deploy:toolsApiKey: got [secret] stored as plain text" in str(caught.value)
    config = parse_stack_config({**values, "toolsApiKey": leaked}, secret={"toolsApiKey"})
    assert config.server_secret("toolsApiKey").get_secret_value() == leaked
    assert leaked not in repr(config)


def test_any_key_stored_as_a_secret_is_masked_in_errors() -> None:
    # a user may keep a non-secret key encrypted; a typo in it must not be echoed either
    values = {**REQUIRED, "target": "kubernetes", "authIssuer": "not-a-url-but-private"}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, secret={"authIssuer"})
    assert "not-a-url-but-private" not in str(caught.value)
    assert "mcp-deploy:authIssuer: got [secret];" in str(caught.value)


def test_production_rules_check_defaults_too() -> None:
    values = {**REQUIRED, "environment": "production", "target": "kubernetes"}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, secret=set())
    assert [line.split(": got")[0].strip() for line in lines_of(caught.value)] == [
        "mcp-deploy:alertEmail",
        "mcp-deploy:k8sBackupUrl",
        "mcp-deploy:postgresDeletionProtection",
        "mcp-deploy:postgresFinalSnapshot",
    ]


def test_fargate_and_cloudwatch_rules_apply_only_to_aws() -> None:
    notes = {"build": "server", "cpu": 512, "memory": 700}
    base = {**REQUIRED, "servers": servers(notes=notes), "logRetentionDays": "10"}
    config = parse_stack_config({**base, "target": "kubernetes"}, secret=set())
    assert (config.servers["notes"].memory, config.log_retention_days) == (700, 10)
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({**base, "target": "aws-ecs"}, secret=set())
    assert [line.split(": got")[0].strip() for line in lines_of(caught.value)] == [
        "mcp-deploy:logRetentionDays",
        "mcp-deploy:servers.notes.memory",
    ]
    assert "with cpu 512, Fargate takes 1024 to 4096 MiB in steps of 1024" in str(caught.value)


def test_cloud_run_rules_apply_only_to_gcp() -> None:
    base = {
        **REQUIRED,
        "servers": servers(
            notes={"build": "server", "cpu": 16384, "memory": 65536},
            tools={"image": "ghcr.io/acme/tools:1.0"},
        ),
        "redisAuthToken": "Fine-Token-For-Test-0123",
    }
    config = parse_stack_config({**base, "target": "kubernetes"}, secret={"redisAuthToken"})
    assert (config.servers["notes"].cpu, config.servers["notes"].memory) == (16384, 65536)
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({**base, "target": "gcp-cloudrun"}, secret={"redisAuthToken"})
    assert [line.split(": got")[0].strip() for line in lines_of(caught.value)] == [
        "mcp-deploy:redisAuthToken",
        "mcp-deploy:servers.notes.cpu",
        "mcp-deploy:servers.notes.memory",
        "mcp-deploy:servers.tools.image",
    ]
    assert "Cloud Run cannot pull from other registries" in str(caught.value)


def test_kubernetes_needs_a_registry_only_for_servers_it_builds() -> None:
    values = {**REQUIRED, "target": "kubernetes"}
    del values["k8sRegistry"]
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, secret=set())
    assert "servers notes have build" in str(caught.value)
    prebuilt = servers(tools={"image": "ghcr.io/acme/tools:1.0"})
    assert parse_stack_config({**values, "servers": prebuilt}, secret=set()).k8s_registry is None


@pytest.mark.parametrize("stack", ["dev", "prod", "multi"])
def test_committed_stack_files_are_valid(stack: str) -> None:
    run: ProgramRun = run_program(stack)
    assert run.error is None, run.error


def test_dev_and_prod_differ_through_their_stack_files_only() -> None:
    from tests.harness.stack_files import read_stack, stack_file

    def load(stack: str) -> StackConfig:
        raw = read_stack(stack_file(stack)).values
        values = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("mcp-deploy:")}
        return parse_stack_config(values, secret=set())

    dev, prod = load("dev"), load("prod")
    assert (dev.environment, prod.environment) == ("development", "production")
    assert prod.servers["notes"].replicas
    assert dev.servers["notes"].replicas
    assert prod.servers["notes"].replicas.min > dev.servers["notes"].replicas.min
    assert prod.postgres_high_availability
    assert not dev.postgres_high_availability
    assert prod.postgres_deletion_protection
    assert prod.postgres_final_snapshot
    assert prod.log_retention_days > dev.log_retention_days


def test_a_server_may_not_take_a_name_the_platform_uses() -> None:
    values = {**REQUIRED, "target": "aws-ecs", "servers": servers(backup={"image": "ghcr.io/acme/b:1"})}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, secret=set())
    assert "server names other than backup: the platform names its own resources so" in str(caught.value)


def test_stdio_servers_need_one_pinned_package_or_an_image_with_its_command() -> None:
    error = failed(
        "dev",
        servers=servers(
            notes={"build": "server"},
            latest={"transport": "stdio", "package": "npm:@modelcontextprotocol/server-everything@latest"},
            ranged={"transport": "stdio", "package": "pypi:mcp-server-time>=2026.1"},
            unversioned={"transport": "stdio", "package": "npm:left-pad"},
            both={"transport": "stdio", "package": "pypi:a==1.0", "image": "docker.io/acme/a:1"},
            bare={"transport": "stdio", "image": "docker.io/acme/stdio:1"},
            http={"image": "docker.io/acme/h:1", "package": "pypi:a==1.0"},
        ),
    )
    found = {line.split(":")[1]: line for line in lines_of(error)}
    assert sorted(found) == sorted(
        [
            "servers.latest.package",
            "servers.ranged.package",
            "servers.unversioned.package",
            "servers.both.build",
            "servers.bare.command",
            "servers.http.package",
        ]
    )
    assert "is not pinned to one exact version" in found["servers.latest.package"]
    assert "is not pinned to one exact version" in found["servers.ranged.package"]
    assert "names no version" in found["servers.unversioned.package"]
    assert "exactly one of package or image" in found["servers.both.build"]
    assert "only with transport: stdio" in found["servers.http.package"]


def test_a_pinned_stdio_package_is_accepted_with_its_args() -> None:
    values = {
        **REQUIRED,
        "target": "kubernetes",
        "k8sRegistry": "registry.example.com/mcp",
        "servers": servers(
            time={
                "transport": "stdio",
                "package": "pypi:mcp-server-time==2026.10.19",
                "args": ["--local-timezone", "UTC"],
                "sessions": "sticky",
                "stdio": {"pool": 1, "maxProcesses": 4},
            }
        ),
    }
    config = parse_stack_config(values, secret=set())
    entry = config.servers["time"]
    assert entry.package == "pypi:mcp-server-time==2026.10.19"
    assert entry.stdio is not None
    assert entry.stdio.max_processes == 4
