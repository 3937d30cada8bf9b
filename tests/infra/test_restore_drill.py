"""Restore drills in every plan that has backups: a scheduled `mcp-backup drill --all` after the
backup, with the database access the restore path has, alerts to the platform's destinations, and
the edges that make its first run find its secrets and grants."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

import pytest

from mcp_deploy.aws.cron import eventbridge_cron
from mcp_deploy.aws.platform.drill import missing_hours
from mcp_deploy.drill_schedule import backup_period, drill_schedule, stale_after
from mcp_deploy.gcp.platform.drill import missing_window
from tests.harness.graph import direct_dependencies
from tests.harness.program import ProgramRun, run_program

STACKS = ["dev", "prod", "multi"]
TARGETS = ["aws-ecs", "gcp-cloudrun", "kubernetes"]
BACKUP_SCHEDULE = {"dev": "0 3 * * *", "prod": "15 2 * * *", "multi": "0 3 * * *"}
TASK = "aws:ecs/taskDefinition:TaskDefinition"
CRONJOB = "kubernetes:batch/v1:CronJob"
RUN_JOB = "gcp:cloudrunv2/job:Job"


UNBACKED = ("dev", "kubernetes")  # Pulumi.dev.yaml gives kubernetes no k8sBackupUrl


@functools.cache
def program(stack: str, target: str) -> ProgramRun:
    found = run_program(stack, target)
    assert found.error is None, found.error
    return found


@pytest.fixture(scope="module", params=[(s, t) for s in STACKS for t in TARGETS], ids=lambda p: "-".join(p))
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return program(*request.param)


@pytest.fixture(
    scope="module",
    params=[(s, t) for s in STACKS for t in TARGETS if (s, t) != UNBACKED],
    ids=lambda p: "-".join(p),
)
def backed_run(request: pytest.FixtureRequest) -> ProgramRun:
    """A plan that backs up (so has a drill): every one but UNBACKED must."""
    found = program(*request.param)
    assert backed_up(found), f"{found.stack} on {found.target} lost its backups"
    return found


def backed_up(run: ProgramRun) -> bool:
    if run.target == "aws-ecs":
        return any(r.name.endswith("-backup") for r in run.of_type(TASK))
    if run.target == "gcp-cloudrun":
        return any(r.name == "mcp-backup" for r in run.of_type(RUN_JOB))
    return any(r.name == "mcp-backup" for r in run.of_type(CRONJOB))


def test_most_plans_back_up_so_these_tests_see_drills() -> None:
    """Only dev on kubernetes has no backup URL; every other plan must show a drill below."""
    assert not backed_up(program(*UNBACKED))


def test_every_plan_with_backups_has_a_drill_after_the_backup(run: ProgramRun) -> None:
    if not backed_up(run):
        assert not [r for r in run.resources if "drill" in r.name]
        return
    later = drill_schedule(BACKUP_SCHEDULE[run.stack])
    assert later != BACKUP_SCHEDULE[run.stack]
    if run.target == "aws-ecs":
        for backup in (r for r in run.of_type(TASK) if r.name.endswith("-backup")):
            server = backup.name.removesuffix("-backup")
            [container] = json.loads(run.named(TASK, f"{server}-drill").inputs["containerDefinitions"])
            assert container["command"] == ["drill", "--all"]
            assert container["entryPoint"] == ["mcp-backup"]
            schedules = {r.name: r.inputs for r in run.of_type("aws:scheduler/schedule:Schedule")}
            assert schedules[f"{server}-drill"]["scheduleExpression"] == eventbridge_cron(later)
            assert schedules[f"{server}-backup"]["scheduleExpression"] == eventbridge_cron(
                BACKUP_SCHEDULE[run.stack]
            )
    elif run.target == "gcp-cloudrun":
        job = run.named(RUN_JOB, "mcp-drill").inputs["template"]["template"]
        assert job["containers"][0]["args"] == ["drill", "--all"]
        schedules = {r.name: r.inputs for r in run.of_type("gcp:cloudscheduler/job:Job")}
        assert schedules["mcp-drill"]["schedule"] == later
        assert schedules["mcp-backup"]["schedule"] == BACKUP_SCHEDULE[run.stack]
        assert schedules["mcp-drill"]["httpTarget"]["uri"].endswith(f"/jobs/{_gcp_job_name(run)}:run")
    else:
        spec = run.named(CRONJOB, "mcp-drill").inputs["spec"]
        assert spec["schedule"] == later
        assert spec["timeZone"] == run.named(CRONJOB, "mcp-backup").inputs["spec"]["timeZone"]
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] == 0  # a failed drill is a finding: no retry hides it
        assert job["template"]["spec"]["containers"][0]["args"] == ["drill", "--all"]


def test_the_drill_has_the_database_access_of_the_restore_path(backed_run: ProgramRun) -> None:
    run = backed_run
    if run.target == "aws-ecs":
        for backup in (r for r in run.of_type(TASK) if r.name.endswith("-backup")):
            server = backup.name.removesuffix("-backup")
            drill = run.named(TASK, f"{server}-drill").inputs
            [dumping] = json.loads(backup.inputs["containerDefinitions"])
            [drilling] = json.loads(drill["containerDefinitions"])
            secrets = {s["name"]: s["valueFrom"] for s in drilling["secrets"]}
            # The same URL secret as the backup, and the admin URL the provisioning step reads:
            # all by reference, nothing secret in plain environment values.
            assert {s["name"]: s["valueFrom"] for s in dumping["secrets"]}.items() <= secrets.items()
            server_task = json.loads(run.named(TASK, f"{server}-server").inputs["containerDefinitions"])
            [provision] = [c for c in server_task if c["name"] == "provision-db"]
            admin = {x["name"]: x["valueFrom"] for x in provision["secrets"]}["PG_ADMIN_URL"]
            assert secrets["PG_DRILL_URL"] == admin
            assert "postgresql://" not in json.dumps(drilling["environment"])
            restore_role = run.named("aws:iam/role:Role", "mcp-restore-task").inputs["name"]
            assert drill["taskRoleArn"].endswith(f":role/{restore_role}")  # reads dumps, writes none
            assert drill["executionRoleArn"] == backup.inputs["executionRoleArn"]
            network = run.named("aws:scheduler/schedule:Schedule", f"{server}-drill").inputs["target"]
            backup_network = run.named("aws:scheduler/schedule:Schedule", f"{server}-backup").inputs["target"]
            assert (
                network["ecsParameters"]["networkConfiguration"]
                == backup_network["ecsParameters"]["networkConfiguration"]
            )
    elif run.target == "gcp-cloudrun":
        drill = run.named(RUN_JOB, "mcp-drill").inputs["template"]["template"]
        [restore] = [
            r
            for r in run.of_type(RUN_JOB)
            if r.inputs["template"]["template"]["containers"][0]["args"] == ["restore"]
        ]
        restoring = restore.inputs["template"]["template"]
        assert drill["serviceAccount"] == restoring["serviceAccount"]
        assert drill["containers"][0]["envs"] == restoring["containers"][0]["envs"]
        assert drill["vpcAccess"] == restoring["vpcAccess"]
        assert all(
            "valueSource" in e for e in drill["containers"][0]["envs"] if e["name"].startswith("PG_URL_")
        )
    else:
        drill = run.named(CRONJOB, "mcp-drill").inputs["spec"]["jobTemplate"]["spec"]["template"]
        backup = run.named(CRONJOB, "mcp-backup").inputs["spec"]["jobTemplate"]["spec"]["template"]
        assert drill["spec"]["serviceAccountName"] == backup["spec"]["serviceAccountName"]
        # The backup's instance label: the backup NetworkPolicy (Postgres, object store) selects it.
        instance = "app.kubernetes.io/instance"
        assert drill["metadata"]["labels"][instance] == backup["metadata"]["labels"][instance]
        assert (
            drill["metadata"]["labels"]["mcp-deploy.io/postgres-client"]
            == (backup["metadata"]["labels"]["mcp-deploy.io/postgres-client"])
        )
        [drilling], [dumping] = drill["spec"]["containers"], backup["spec"]["containers"]
        sources = [s["secretRef"]["name"] for s in drilling["envFrom"]]
        assert [s["secretRef"]["name"] for s in dumping["envFrom"]] == sources[: len(dumping["envFrom"])]
        assert drill["spec"]["volumes"] == backup["spec"]["volumes"]  # scratch space and the CA
        roles = [
            r
            for r in run.of_type("kubernetes:postgresql.cnpg.io/v1:DatabaseRole")
            if r.name == "mcp-drill-role"
        ]
        if roles:  # in-cluster CloudNativePG: a role that may create its scratch databases
            [role] = roles
            assert role.inputs["spec"]["createdb"] is True
            assert role.inputs["spec"]["login"] is True
            assert "superuser" not in role.inputs["spec"]
            assert any(source.startswith("mcp-drill-url-") for source in sources)  # PG_DRILL_URL


def test_alerts_go_where_the_backup_alerts_go(backed_run: ProgramRun) -> None:
    run = backed_run
    if run.target == "aws-ecs":
        alarms = {r.name: r.inputs for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
        for backup in (r for r in run.of_type(TASK) if r.name.endswith("-backup")):
            server = backup.name.removesuffix("-backup")
            failed, missing = alarms[f"{server}-drill-failed"], alarms[f"{server}-drill-missing"]
            assert failed["alarmActions"] == alarms[f"{server}-backup-missing"]["alarmActions"]
            assert missing["alarmActions"] == failed["alarmActions"]
            assert missing["evaluationPeriods"] * missing["period"] == 49 * 3600  # two days and an hour
            assert missing["treatMissingData"] == "breaching"
            rules = {
                r.name: json.loads(r.inputs["eventPattern"])
                for r in run.of_type("aws:cloudwatch/eventRule:EventRule")
            }
            family = json.loads(run.named(TASK, f"{server}-drill").inputs["containerDefinitions"])
            assert rules[f"{server}-drill-failed"]["detail"]["group"] == [
                "family:" + run.named(TASK, f"{server}-drill").inputs["family"]
            ]
            assert family  # the task the rules watch exists
            backup_prefix = rules["mcp-backup-failed"]["detail"]["group"][0]["prefix"]
            # A failed drill is not reported as a failed backup.
            assert not ("family:" + run.named(TASK, f"{server}-drill").inputs["family"]).startswith(
                backup_prefix
            )
    elif run.target == "gcp-cloudrun":
        policies = {r.name: r.inputs for r in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy")}
        channels = policies["mcp-backup-failed"]["notificationChannels"]
        assert channels == policies["mcp-drill-failed"]["notificationChannels"]
        assert channels == policies["mcp-drill-missing"]["notificationChannels"]
        job = _gcp_job_name(run)
        for label, result in (("failed", "failed"), ("missing", "succeeded")):
            [condition] = policies[f"mcp-drill-{label}"]["conditions"]
            threshold = condition["conditionThreshold"]
            assert f'resource.label.job_name="{job}"' in threshold["filter"]
            assert f'metric.label.result="{result}"' in threshold["filter"]
        missing = policies["mcp-drill-missing"]["conditions"][0]["conditionThreshold"]
        assert missing["aggregations"][0]["alignmentPeriod"] == "90000s"
        assert missing["duration"] == "86400s"  # 25 h + 24 h: no success in 49 h
        assert missing["evaluationMissingData"] == "EVALUATION_MISSING_DATA_ACTIVE"
    else:
        rules = [
            r
            for r in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
            if r.name == "mcp-drill-alerts"
        ]
        operator = any(
            r.name == "mcp-alerts" for r in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        )
        assert bool(rules) == operator  # beside the platform's own alerts, when the operator is on
        if rules:
            [group] = rules[0].inputs["spec"]["groups"]
            alerts = {rule["alert"]: rule for rule in group["rules"]}
            assert set(alerts) == {"McpRestoreDrillFailed", "McpRestoreDrillMissing"}
            cron = run.named(CRONJOB, "mcp-drill").inputs["metadata"]["name"]
            assert f'cronjob="{cron}"' in alerts["McpRestoreDrillMissing"]["expr"]
            assert f'job_name=~"{cron}-[0-9]+"' in alerts["McpRestoreDrillFailed"]["expr"]
            assert "> 176400" in alerts["McpRestoreDrillMissing"]["expr"]


def test_the_drill_waits_for_the_secrets_and_grants_it_uses(backed_run: ProgramRun) -> None:
    run = backed_run
    if run.target == "aws-ecs":
        admin = run.named("aws:secretsmanager/secretVersion:SecretVersion", "mcp-postgres-admin-url")
        restore_policy = [
            r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "mcp-restore-task"
        ]
        for backup in (r for r in run.of_type(TASK) if r.name.endswith("-backup")):
            server = backup.name.removesuffix("-backup")
            task = run.named(TASK, f"{server}-drill")
            needs = direct_dependencies(task)
            assert admin.urn in needs
            assert {u for u in direct_dependencies(backup) if "secretVersion" in u} <= needs
            assert {p.urn for p in restore_policy} <= needs
            schedule = run.named("aws:scheduler/schedule:Schedule", f"{server}-drill")
            scheduler_policy = run.named("aws:iam/rolePolicy:RolePolicy", f"{server}-drill-scheduler")
            assert scheduler_policy.urn in direct_dependencies(schedule)
    elif run.target == "gcp-cloudrun":
        drill = run.named(RUN_JOB, "mcp-drill")
        [restore] = [
            r
            for r in run.of_type(RUN_JOB)
            if r.inputs["template"]["template"]["containers"][0]["args"] == ["restore"]
        ]
        assert direct_dependencies(restore) <= direct_dependencies(drill)  # every secret version and grant
        assert any("secretIamMember" in u for u in direct_dependencies(drill))
        schedule = run.named("gcp:cloudscheduler/job:Job", "mcp-drill")
        invoker = run.named("gcp:cloudrunv2/jobIamMember:JobIamMember", "mcp-drill-trigger-runs-job")
        assert invoker.urn in direct_dependencies(schedule)
    else:
        cron = run.named(CRONJOB, "mcp-drill")
        needs = direct_dependencies(cron)
        urls = [r for r in run.of_type("kubernetes:core/v1:Secret") if r.name == "mcp-backup-urls"]
        account = [r for r in run.of_type("kubernetes:core/v1:ServiceAccount") if r.name == "mcp-backup"]
        assert {r.urn for r in [*urls, *account]} <= needs
        for name in ("mcp-drill-url", "mcp-drill-role"):
            found = [r for r in run.resources if r.name == name]
            assert {r.urn for r in found} <= needs


@pytest.mark.parametrize(
    ("backup", "drill"),
    [
        ("0 3 * * *", "0 5 * * *"),
        ("15 2 * * *", "15 4 * * *"),
        ("0 */6 * * *", "0 2,8,14,20 * * *"),
        ("0 3 * * 0", "0 5 * * 0"),
        ("30 23 * * 1-5", "30 1 * * *"),  # past midnight on some days only: daily instead
        ("0 22 1 * *", "0 0 * * *"),
    ],
)
def test_the_drill_runs_two_hours_after_the_backup(backup: str, drill: str) -> None:
    assert drill_schedule(backup) == drill


@pytest.mark.parametrize(
    ("backup", "period"),
    [
        ("0 3 * * *", timedelta(days=1)),
        ("0 */6 * * *", timedelta(hours=6)),
        ("0 3 * * 1-5", timedelta(days=3)),  # Friday to Monday
        ("0 3 1 * *", timedelta(days=31)),
    ],
)
def test_a_backup_period_is_the_longest_gap_between_backups(backup: str, period: timedelta) -> None:
    assert backup_period(backup) == period
    assert stale_after(backup) == 2 * period + timedelta(hours=1)


def test_alert_windows_fit_each_providers_limits() -> None:
    assert missing_hours("0 3 * * *") == 49
    assert missing_hours("0 3 * * 0") == 7 * 24  # CloudWatch looks back 7 days at most
    assert missing_window(timedelta(hours=49)) == ("90000s", "86400s")
    assert missing_window(timedelta(hours=13)) == ("43200s", "3600s")  # never held for 0 s


def _gcp_job_name(run: ProgramRun) -> Any:
    return run.named(RUN_JOB, "mcp-drill").inputs["name"]
