"""The server's own alert policies: 5xx rate, p99 latency, running at its maximum instances."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.platform.alerts import Threshold, alert_policy, align
from mcp_deploy.platform_spec import GcpSpec
from mcp_deploy.server_spec import ServerSpec


def server_alerts(
    name: str,
    spec: ServerSpec,
    service: gcp.cloudrunv2.Service,
    google: GcpSpec,
    channels: list[pulumi.Output[str]],
    parent: pulumi.Resource,
) -> None:
    revisions = pulumi.Output.concat(
        'resource.type="cloud_run_revision" AND resource.label.service_name="', service.name, '"'
    )
    requests = pulumi.Output.concat(revisions, ' AND metric.type="run.googleapis.com/request_count"')
    alert_policy(
        f"{name}-5xx-rate",
        f"{spec.name}: more than 5% of requests fail with 5xx",
        google,
        channels,
        Threshold(
            filter=pulumi.Output.concat(requests, ' AND metric.label.response_code_class="5xx"'),
            aggregations=align("ALIGN_RATE", "REDUCE_SUM"),
            denominator_filter=requests,
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
        parent,
    )
    alert_policy(
        f"{name}-latency-p99",
        f"{spec.name}: p99 request latency above 2 s",
        google,
        channels,
        Threshold(
            filter=pulumi.Output.concat(revisions, ' AND metric.type="run.googleapis.com/request_latencies"'),
            aggregations=align("ALIGN_PERCENTILE_99", "REDUCE_MAX"),
            comparison="COMPARISON_GT",
            threshold_value=2000,
            duration="900s",
        ),
        parent,
    )
    alert_policy(
        f"{name}-instances-at-max",
        f"{spec.name}: running at its maximum instance count",
        google,
        channels,
        Threshold(
            filter=pulumi.Output.concat(
                revisions, ' AND metric.type="run.googleapis.com/container/instance_count"'
            ),
            aggregations=align("ALIGN_MAX", "REDUCE_SUM"),
            comparison="COMPARISON_GT",
            threshold_value=spec.max_replicas - 0.5,
            duration="900s",
        ),
        parent,
    )
