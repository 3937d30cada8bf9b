"""The restore drill on kubernetes: a CronJob running the backup image's `mcp-backup drill --all`
a while after each backup, with the backup job's own database URLs (the same Secret), identity and
network access (its pods carry the backup's instance label, which the backup NetworkPolicy
selects), and alerts when the operator is on.

A server's role may not create databases, so with in-cluster CloudNativePG the drill gets a role of
its own that may (`createdb`, nothing else) for its scratch copies, as `PG_DRILL_URL`. With a
managed Postgres the drill uses each server's URL: that role needs CREATEDB.

The result is the Job's exit status, read from kube-state-metrics (`kube_job_status_failed`,
`kube_cronjob_status_last_successful_time`) like the backup's: no Pushgateway to run, and a drill
that never started or was killed counts as well as one that found a bad dump.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mcp_deploy.drill_schedule import drill_schedule, stale_after
from mcp_deploy.k8s.alert_routing import routed
from mcp_deploy.k8s.cronjob_alerts import no_success_for, run_failed
from mcp_deploy.k8s.meta import metadata, operator_metadata
from mcp_deploy.k8s.platform.backup_cronjob import BackupPod, Runs, backup_cron_job
from mcp_deploy.k8s.platform.postgres import PORT, Postgres
from mcp_deploy.k8s.pods import POSTGRES_CA_DIR
from mcp_deploy.names import physical_name
from mcp_deploy.platform_spec import PlatformSpec

DRILL_ROLE = "mcp_drill"  # one per CloudNativePG cluster, as the cluster is one per platform
RUN_DEADLINE_SECONDS = 3 * 3600  # restores the whole database: longer than a dump takes


@dataclass(frozen=True)
class RestoreDrill:
    cron_job: k8s.batch.v1.CronJob
    name: str  # the CronJob's; its Jobs are <name>-<scheduled minute>
    alerts: k8s.apiextensions.CustomResource | None


def restore_drill(
    name: str,
    spec: PlatformSpec,
    backup: BackupPod,
    postgres: Postgres,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> RestoreDrill:
    cron_name = physical_name(name, "drill", limit=52)  # CronJob names: 52, Jobs add 11
    pod, waits = backup, list(depends_on)
    if postgres.cluster_name is not None:
        url_secret, role_resources = _drill_role(
            name, backup.namespace, backup.instance, postgres, depends_on, parent
        )
        drill_url = k8s.core.v1.EnvFromSourceArgs(
            secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=url_secret.metadata.name)
        )
        pod = replace(backup, env_from=[*backup.env_from, drill_url])
        waits += [url_secret, *role_resources]
    cron_job = backup_cron_job(
        f"{name}-drill",
        pod,
        cron_name=cron_name,
        component="drill",
        args=["drill", "--all"],
        runs=Runs(
            schedule=drill_schedule(spec.backup.schedule),
            deadline_seconds=RUN_DEADLINE_SECONDS,
            # A failed drill is a finding, not a flake: one run, its log says why.
            retries=0,
            restart_policy="Never",
            successes_kept=1,
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits),
    )
    alerts = None
    if spec.k8s.prometheus_operator:
        alerts = k8s.apiextensions.CustomResource(
            f"{name}-drill-alerts",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=operator_metadata(
                physical_name(name, "drill-alerts"),
                backup.namespace,
                "drill",
                backup.instance,
                spec.k8s.prometheus_release,
            ),
            spec={
                "groups": [
                    rule_group(
                        physical_name(name, "drill"),
                        backup.namespace,
                        cron_name,
                        spec.domain,
                        stale_after(spec.backup.schedule),
                    )
                ]
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[cron_job]),
        )
    return RestoreDrill(cron_job=cron_job, name=cron_name, alerts=alerts)


def rule_group(group: str, namespace: str, cron_job: str, domain: str, stale: timedelta) -> dict[str, Any]:
    """The drill's alerts, as a Prometheus rule group (also written to a plain rules file and unit
    tested with promtool: tests/infra/prometheus/drill/)."""
    failed = run_failed(namespace, cron_job)
    seconds = int(stale.total_seconds())
    missing = no_success_for(namespace, cron_job, seconds)
    hours = seconds // 3600
    return {
        "name": group,
        "rules": [
            {
                "alert": "McpRestoreDrillFailed",
                "expr": failed,
                "for": "0m",
                "labels": {"severity": "page", **routed(namespace)},
                "annotations": {
                    "summary": f"A restore drill failed on {domain}",
                    "description": f"kubectl -n {namespace} logs job/<the failed job>: one JSON line per"
                    " database says which dump failed and why.",
                },
            },
            {
                "alert": "McpRestoreDrillMissing",
                "expr": missing,
                "for": "0m",
                "labels": {"severity": "page", **routed(namespace)},
                "annotations": {
                    "summary": f"No successful restore drill on {domain} for {hours} hours"
                    " (two backup periods)"
                },
            },
        ],
    }


def _drill_role(
    name: str,
    namespace: str,
    instance: str,
    postgres: Postgres,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> tuple[k8s.core.v1.Secret, list[pulumi.Resource]]:
    """A CloudNativePG role that may create (and so drop) its own databases, and its URL as a Secret."""
    inside = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    password = random.RandomPassword(
        f"{name}-drill-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    credentials = k8s.core.v1.Secret(
        f"{name}-drill-role",
        metadata=metadata(None, namespace, "drill", instance),  # auto-named: replaced on change
        type="kubernetes.io/basic-auth",
        string_data={"username": DRILL_ROLE, "password": pulumi.Output.secret(password.result)},
        opts=inside,
    )
    role = k8s.apiextensions.CustomResource(
        f"{name}-drill-role",
        api_version="postgresql.cnpg.io/v1",
        kind="DatabaseRole",
        metadata=metadata(physical_name(name, "drill-role"), namespace, "drill", instance),
        spec={
            "name": DRILL_ROLE,
            "cluster": {"name": postgres.cluster_name},
            "ensure": "present",
            "login": True,
            "createdb": True,
            "passwordSecret": {"name": credentials.metadata.name},
            # Owns nothing that outlives a drill: dropping it with the stack loses nothing.
            "databaseRoleReclaimPolicy": "delete",
        },
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[*depends_on, credentials, *postgres.resources],
        ),
    )
    host = f"{postgres.host}.{namespace}.svc"
    url = k8s.core.v1.Secret(
        f"{name}-drill-url",
        metadata=metadata(None, namespace, "drill", instance),
        type="Opaque",
        string_data={
            "PG_DRILL_URL": pulumi.Output.secret(
                password.result.apply(
                    lambda pw: (
                        f"postgresql://{DRILL_ROLE}:{quote(pw, safe='')}@{host}:{PORT}/postgres"
                        f"?sslmode=verify-full&sslrootcert={POSTGRES_CA_DIR}/ca.crt"
                    )
                )
            )
        },
        opts=inside,
    )
    return url, [credentials, role]
