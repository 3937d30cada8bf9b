"""gcp-cloudrun monitoring the Monitoring API and Managed Prometheus accept as meant: every alert
condition in every GCP plan within the API's limits, and one series per Cloud Run instance from
the collector sidecars; and what the README must say before a first deploy and a restore."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

import pytest

from mcp_deploy.drill_schedule import backup_missing_after
from mcp_deploy.gcp.platform.alerts import missing_window
from mcp_deploy.gcp.platform.apis import APIS
from tests.fixtures.gcp_runs import run_gcp
from tests.harness.program import ProgramRun, run_program
from tests.harness.stack_files import ROOT

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
SERVICE = "gcp:cloudrunv2/service:Service"
MAX_ALIGNMENT_S = 90000  # 25 h: the longest alignment period an alerting condition takes
MISSING_ACTIVE = "EVALUATION_MISSING_DATA_ACTIVE"
# Each program of the target: the fixture's stacks, the root stacks, a frequent backup schedule
# (a drill window under a day) and tracing on (a traces pipeline beside the metrics one).
PLANS = {
    "fixture-dev": lambda: run_gcp("dev"),
    "fixture-prod": lambda: run_gcp("prod"),
    "dev": lambda: run_program("dev", "gcp-cloudrun"),
    "prod": lambda: run_program("prod", "gcp-cloudrun"),
    "multi": lambda: run_program("multi", "gcp-cloudrun"),
    "dev-six-hourly-backups": lambda: run_program(
        "dev", "gcp-cloudrun", overrides={"backupSchedule": "0 */6 * * *"}
    ),
    "dev-traced": lambda: run_program("dev", "gcp-cloudrun", overrides={"tracingSampleRatio": "0.5"}),
}


@functools.cache
def plan(name: str) -> ProgramRun:
    run = PLANS[name]()
    assert run.error is None, run.error
    return run


def seconds(duration: str) -> int:
    assert duration.endswith("s"), duration
    return int(duration[:-1])


def conditions(run: ProgramRun) -> list[tuple[str, str, dict[str, Any]]]:
    """(policy, condition kind, condition) for each condition of each alert policy."""
    found = []
    for policy in run.of_type(POLICY):
        for condition in policy.inputs["conditions"]:
            for kind, body in condition.items():
                if kind.startswith("condition"):
                    found.append((policy.name, kind, body))
    return found


# --- alert conditions -----------------------------------------------------------------------


@pytest.mark.parametrize("name", PLANS)
def test_every_alert_condition_is_one_the_monitoring_api_accepts(name: str) -> None:
    """A condition that treats missing data as a breach needs a non-zero duration ("Conditions
    setting evaluation_missing_data must have a non-zero duration"); no alignment period is
    longer than 25 h; durations and periods are whole minutes."""
    found = conditions(plan(name))
    assert found
    for policy, kind, condition in found:
        where = f"{policy} {kind}"
        duration = seconds(condition["duration"])
        assert duration % 60 == 0, where
        if "evaluationMissingData" in condition:
            assert duration > 0, where
        for key in ("aggregations", "denominatorAggregations"):
            for aggregation in condition.get(key, []):
                period = seconds(aggregation["alignmentPeriod"])
                assert 60 <= period <= MAX_ALIGNMENT_S, where
                assert period % 60 == 0, where


@pytest.mark.parametrize("name", PLANS)
def test_no_success_alerts_look_back_their_whole_window(name: str) -> None:
    """Aligned successes summed over the period, none for the whole duration: period + duration
    is the window without a success that alerts (backups: one backup period + 1 h; drills: two
    backup periods + 1 h)."""
    run = plan(name)
    policies = {p.name: p.inputs for p in run.of_type(POLICY)}
    six_hourly = name == "dev-six-hourly-backups"
    windows = {"mcp-backup-missing": timedelta(hours=7 if six_hourly else 25)}
    windows["mcp-drill-missing"] = timedelta(hours=13 if six_hourly else 49)
    for policy, window in windows.items():
        [condition] = policies[policy]["conditions"]
        threshold = condition["conditionThreshold"]
        assert threshold["evaluationMissingData"] == MISSING_ACTIVE
        period = seconds(threshold["aggregations"][0]["alignmentPeriod"])
        assert timedelta(seconds=period + seconds(threshold["duration"])) == window, policy


@pytest.mark.parametrize("hours", [1.5, 3, 13, 24, 25, 26, 49, 73, 169, 745])
def test_a_missing_window_is_never_held_for_zero_seconds(hours: float) -> None:
    stale = timedelta(hours=hours)
    alignment, duration = (seconds(v) for v in missing_window(stale))
    assert 60 <= alignment <= MAX_ALIGNMENT_S
    assert duration >= 3600
    assert timedelta(seconds=alignment + duration) == stale


def test_the_daily_backup_window_is_a_day_aligned_and_an_hour_held() -> None:
    assert missing_window(backup_missing_after("0 3 * * *")) == ("86400s", "3600s")


# --- collector sidecars ---------------------------------------------------------------------


def sidecar_configs(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """Each scraped service's collector config, by service."""
    found = {}
    for service in run.of_type(SERVICE):
        for container in service.inputs["template"]["containers"]:
            if container["name"] == "collector":
                found[service.name] = json.loads(container["envs"][0]["value"])
    return found


@pytest.mark.parametrize("name", PLANS)
def test_each_instance_writes_its_own_series(name: str) -> None:
    """Managed Prometheus takes `instance` from service.instance.id, which the prometheus receiver
    makes `localhost:<port>` on every instance: the metrics pipeline sets it from the Cloud Run
    instance id the gcp detector finds (faas.instance; faas.id in older collectors), after the
    detector and before the export."""
    configs = sidecar_configs(plan(name))
    assert {"mcp-gateway", "notes-service"} <= set(configs)
    for service, config in configs.items():
        metrics = config["service"]["pipelines"]["metrics"]
        processors = metrics["processors"]
        transforms = [p for p in processors if p.split("/")[0] == "transform"]
        assert len(transforms) == 1, service
        [transform] = transforms
        assert processors.index("resourcedetection") < processors.index(transform), service
        assert "gcp" in config["processors"]["resourcedetection"]["detectors"]
        settings = config["processors"][transform]
        [block] = settings["metric_statements"]
        assert block["context"] == "resource"
        assert block["statements"][0] == (
            'set(attributes["service.instance.id"], attributes["faas.instance"])'
            ' where attributes["faas.instance"] != nil'
        ), service
        assert 'set(attributes["service.instance.id"], attributes["faas.id"])' in block["statements"][1]
        assert settings["error_mode"] == "ignore"  # a missing id leaves the series as it was
        if "traces" in config["service"]["pipelines"]:  # spans keep the SDK's own instance id
            assert transform not in config["service"]["pipelines"]["traces"]["processors"]
    if name == "dev-traced":
        assert all("traces" in c["service"]["pipelines"] for c in configs.values())


# --- what the README must say before a first deploy and a restore ---------------------------


def gcp_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Google Cloud (`target: gcp-cloudrun`)")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_apis_the_program_cannot_enable_are_enabled_by_hand() -> None:
    """Service Usage enables the rest; Cloud Resource Manager is read (the project's number) and
    written (project-level roles) while planning, before any API resource exists."""
    section = gcp_section()
    command = section[section.index("gcloud services enable") :].split("\n\n")[0]
    assert "serviceusage.googleapis.com" in command
    assert "cloudresourcemanager.googleapis.com" in command
    assert "cloudresourcemanager.googleapis.com" not in APIS  # would be too late


def test_the_restore_command_says_who_may_run_it() -> None:
    """`--args` overrides the job for one execution: run.jobs.runWithOverrides, not run.invoker."""
    assert "--args=" in plan("dev").outputs["restore_command"]
    section = gcp_section()
    restore = section[section.index("### Restore a backup") :]
    assert "roles/run.developer" in restore
    assert "run.jobs.runWithOverrides" in restore
