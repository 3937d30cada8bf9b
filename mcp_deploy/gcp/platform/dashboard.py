"""The platform's Cloud Monitoring dashboard: the shared panels (dashboards/panels.py) as PromQL
over Google Managed Prometheus (the collector sidecars label every series with the platform),
plus Cloud Run's own instance counts and the backup job's successful runs."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.dashboards.metrics import PLATFORM_LABEL
from mcp_deploy.dashboards.panels import PANELS, Panel, promql
from mcp_deploy.platform_spec import GcpSpec

COLUMNS = 48
WIDTH, HEIGHT = 24, 16
UNITS = {"reqps": "1/s", "s": "s", "short": "1"}


def dashboard_json(title: str, platform: str, services: list[str], backup_job: str | None) -> str:
    tiles = [
        {
            "xPos": (index % 2) * WIDTH,
            "yPos": (index // 2) * HEIGHT,
            "width": WIDTH,
            "height": HEIGHT,
            "widget": {
                "title": panel.title,
                "xyChart": {"dataSets": _data_sets(panel, platform, services, backup_job)},
            },
        }
        for index, panel in enumerate(PANELS)
    ]
    return json.dumps(
        {"displayName": title, "mosaicLayout": {"columns": COLUMNS, "tiles": tiles}}, sort_keys=True
    )


def _data_sets(
    panel: Panel, platform: str, services: list[str], backup_job: str | None
) -> list[dict[str, Any]]:
    if panel.key == "replicas":
        names = ",".join(f'"{s}"' for s in services)
        return [
            _filter(
                'metric.type="run.googleapis.com/container/instance_count" '
                'resource.type="cloud_run_revision" '
                f"resource.label.service_name=one_of({names})",
                "60s",
                "ALIGN_MAX",
                ["resource.label.service_name"],
            )
        ]
    if panel.key == "backups":
        if backup_job is None:
            return []
        return [
            _filter(
                'metric.type="run.googleapis.com/job/completed_execution_count" '
                'resource.type="cloud_run_job" '
                f'resource.label.job_name="{backup_job}" metric.label.result="succeeded"',
                "86400s",
                "ALIGN_SUM",
                ["resource.label.job_name"],
                plot="STACKED_BAR",
            )
        ]
    scope = f'{PLATFORM_LABEL}="{platform}"'
    return [
        {
            "plotType": "LINE",
            "targetAxis": "Y1",
            "timeSeriesQuery": {"prometheusQuery": promql(q, scope), "unitOverride": UNITS[panel.unit]},
        }
        for q in panel.queries
    ]


def _filter(text: str, period: str, aligner: str, group_by: list[str], plot: str = "LINE") -> dict[str, Any]:
    return {
        "plotType": plot,
        "targetAxis": "Y1",
        "timeSeriesQuery": {
            "timeSeriesFilter": {
                "filter": text,
                "aggregation": {
                    "alignmentPeriod": period,
                    "perSeriesAligner": aligner,
                    "crossSeriesReducer": "REDUCE_SUM",
                    "groupByFields": group_by,
                },
            }
        },
    }


def monitoring_dashboard(
    name: str,
    google: GcpSpec,
    platform: str,
    services: list[pulumi.Output[str]],
    backup_job: pulumi.Output[str] | None,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> gcp.monitoring.Dashboard:
    body = pulumi.Output.all(*services, *([backup_job] if backup_job is not None else [])).apply(
        lambda values: dashboard_json(
            f"MCP {platform}",
            platform,
            list(values[: len(services)]),
            values[len(services)] if backup_job is not None else None,
        )
    )
    return gcp.monitoring.Dashboard(
        f"{name}-dashboard",
        project=google.project,
        dashboard_json=body,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
