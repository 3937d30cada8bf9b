"""The platform's CloudWatch dashboard: the shared panels (dashboards/panels.py) as SEARCH
expressions over the EMF namespace the collectors write, plus the replicas (Container Insights)
and the successful backups (the EventBridge rule each backed-up server has)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from mcp_deploy.dashboards.metrics import PLATFORM_LABEL
from mcp_deploy.dashboards.panels import PANELS, CloudWatchQuery, Panel
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec

if TYPE_CHECKING:
    from mcp_deploy.aws.platform import AwsPlatform

PERIOD = 60
WIDTH, HEIGHT = 12, 6
DAY = 86400


def search(namespace: str, platform: str, query: CloudWatchQuery) -> str:
    schema = ",".join([namespace, *query.dimensions])
    return (
        f'SEARCH(\'{{{schema}}} MetricName="{query.metric}" {PLATFORM_LABEL}="{platform}"\', '
        f"'{query.stat}', {PERIOD})"
    )


def backup_rules(prefix: str, servers: list[ServerSpec]) -> list[str]:
    """The rule aws/server/backup.py names for each backed-up server's successful dumps."""
    return [
        physical_name(prefix, s.name, "backup-ok", limit=64)
        for s in servers
        if s.postgres is not None and s.postgres.backup
    ]


def dashboard_body(
    namespace: str, platform: str, region: str, cluster: str, rules: list[str]
) -> dict[str, Any]:
    widgets = []
    for index, panel in enumerate(PANELS):
        metrics, stat, period = _metrics(panel, namespace, platform, cluster, rules)
        widgets.append(
            {
                "type": "metric",
                "x": (index % 2) * WIDTH,
                "y": (index // 2) * HEIGHT,
                "width": WIDTH,
                "height": HEIGHT,
                "properties": {
                    "title": panel.title,
                    "region": region,
                    "view": "timeSeries",
                    "stat": stat,
                    "period": period,
                    "metrics": metrics,
                },
            }
        )
    return {"widgets": widgets}


def _metrics(
    panel: Panel, namespace: str, platform: str, cluster: str, rules: list[str]
) -> tuple[list[list[Any]], str, int]:
    if panel.key == "replicas":
        expression = (
            'SEARCH(\'{ECS/ContainerInsights,ClusterName,ServiceName} MetricName="RunningTaskCount" '
            f"ClusterName=\"{cluster}\"', 'Average', {PERIOD})"
        )
        return [[{"expression": expression, "id": "replicas", "label": ""}]], "Average", PERIOD
    if panel.key == "backups":
        # Successful runs per day: a day without one is the gap an operator looks for.
        rows = [["AWS/Events", "MatchedEvents", "RuleName", rule, {"label": rule}] for rule in rules]
        return rows, "Sum", DAY
    rows = [
        [{"expression": search(namespace, platform, q.cloudwatch), "id": f"q{i}", "label": ""}]
        for i, q in enumerate(panel.queries)
        if q.cloudwatch is not None
    ]
    stat = panel.queries[0].cloudwatch.stat if panel.queries[0].cloudwatch else "Sum"
    return rows, stat, PERIOD


def cloudwatch_dashboard(platform: AwsPlatform, servers: list[ServerSpec]) -> aws.cloudwatch.Dashboard:
    t = platform.telemetry
    rules = backup_rules(platform.prefix, servers) if platform.backups is not None else []
    body = pulumi.Output.all(platform.region, platform.cluster.name).apply(
        lambda values: json.dumps(
            dashboard_body(t.namespace, t.platform, values[0], values[1], rules), sort_keys=True
        )
    )
    return aws.cloudwatch.Dashboard(
        f"{platform.prefix}-dashboard",
        dashboard_name=physical_name(platform.prefix, limit=255),
        dashboard_body=body,
        opts=pulumi.ResourceOptions(parent=platform),
    )
