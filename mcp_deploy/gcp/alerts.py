"""Cloud Monitoring alert policies to an email channel: 5xx rate, p99 latency, instances at the
maximum, Cloud SQL CPU and disk, Redis memory."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import GcpArgs, McpServiceArgs
from mcp_deploy.gcp.data import DataTier
from mcp_deploy.gcp.run import CloudRun

Aggregation = gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs


def alerts(
    name: str,
    args: McpServiceArgs,
    gcp_args: GcpArgs,
    run: CloudRun,
    data: DataTier,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> list[gcp.monitoring.AlertPolicy]:
    child = pulumi.ResourceOptions(parent=parent, depends_on=apis)
    channels: list[pulumi.Input[str]] = []
    if args.alert_email is not None:
        channel = gcp.monitoring.NotificationChannel(
            f"{name}-email",
            project=gcp_args.project,
            type="email",
            display_name="mcp-deploy on-call",
            labels={"email_address": args.alert_email},
            opts=child,
        )
        channels.append(channel.id)
    service = pulumi.Output.concat(
        'resource.type="cloud_run_revision" AND resource.label.service_name="', run.service.name, '"'
    )
    database = pulumi.Output.concat(
        'resource.type="cloudsql_database" AND resource.label.database_id="',
        gcp_args.project,
        ":",
        data.postgres.name,
        '"',
    )
    redis = pulumi.Output.concat(
        'resource.type="redis_instance" AND resource.label.instance_id="', data.redis.id, '"'
    )

    def policy(
        label: str, title: str, condition: gcp.monitoring.AlertPolicyConditionConditionThresholdArgs
    ) -> gcp.monitoring.AlertPolicy:
        return gcp.monitoring.AlertPolicy(
            f"{name}-{label}",
            project=gcp_args.project,
            display_name=f"mcp-deploy: {title}",
            combiner="OR",
            notification_channels=channels,
            conditions=[
                gcp.monitoring.AlertPolicyConditionArgs(display_name=title, condition_threshold=condition)
            ],
            opts=child,
        )

    def align(aligner: str, reducer: str | None = None) -> list[Aggregation]:
        return [
            Aggregation(alignment_period="300s", per_series_aligner=aligner, cross_series_reducer=reducer)
        ]

    return [
        policy(
            "5xx-rate",
            "more than 5% of requests fail with 5xx",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=pulumi.Output.concat(
                    service,
                    ' AND metric.type="run.googleapis.com/request_count"'
                    ' AND metric.label.response_code_class="5xx"',
                ),
                aggregations=align("ALIGN_RATE", "REDUCE_SUM"),
                denominator_filter=pulumi.Output.concat(
                    service, ' AND metric.type="run.googleapis.com/request_count"'
                ),
                denominator_aggregations=[
                    gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs(
                        alignment_period="300s",
                        per_series_aligner="ALIGN_RATE",
                        cross_series_reducer="REDUCE_SUM",
                    )
                ],
                comparison="COMPARISON_GT",
                threshold_value=0.05,
                duration="600s",
            ),
        ),
        policy(
            "latency-p99",
            "p99 request latency above 2 s",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=pulumi.Output.concat(
                    service, ' AND metric.type="run.googleapis.com/request_latencies"'
                ),
                aggregations=align("ALIGN_PERCENTILE_99", "REDUCE_MAX"),
                comparison="COMPARISON_GT",
                threshold_value=2000,
                duration="900s",
            ),
        ),
        policy(
            "instances-at-max",
            "running at the maximum instance count",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=pulumi.Output.concat(
                    service, ' AND metric.type="run.googleapis.com/container/instance_count"'
                ),
                aggregations=align("ALIGN_MAX", "REDUCE_SUM"),
                comparison="COMPARISON_GT",
                threshold_value=args.service.max_replicas - 0.5,
                duration="900s",
            ),
        ),
        policy(
            "postgres-cpu",
            "Cloud SQL CPU above 80%",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=pulumi.Output.concat(
                    database, ' AND metric.type="cloudsql.googleapis.com/database/cpu/utilization"'
                ),
                aggregations=align("ALIGN_MEAN"),
                comparison="COMPARISON_GT",
                threshold_value=0.8,
                duration="900s",
            ),
        ),
        policy(
            "postgres-disk",
            "Cloud SQL disk above 90%",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=pulumi.Output.concat(
                    database, ' AND metric.type="cloudsql.googleapis.com/database/disk/utilization"'
                ),
                aggregations=align("ALIGN_MAX"),
                comparison="COMPARISON_GT",
                threshold_value=0.9,
                duration="300s",
            ),
        ),
        policy(
            "redis-memory",
            "Redis memory above 80%",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=pulumi.Output.concat(
                    redis, ' AND metric.type="redis.googleapis.com/stats/memory/usage_ratio"'
                ),
                aggregations=align("ALIGN_MAX"),
                comparison="COMPARISON_GT",
                threshold_value=0.8,
                duration="600s",
            ),
        ),
    ]
