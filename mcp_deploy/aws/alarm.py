"""CloudWatch alarms to the platform's topic, each named per stack (alarm names are per account
and region)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from mcp_deploy.names import physical_name

FIVE_MINUTES = 300


def alarm(
    name: str,
    name_parts: tuple[str, ...],
    description: str,
    settings: aws.cloudwatch.MetricAlarmArgs,
    topic: aws.sns.Topic,
    parent: pulumi.Resource,
    treat_missing_data: str = "notBreaching",
) -> aws.cloudwatch.MetricAlarm:
    settings.name = physical_name(*name_parts, limit=255)
    settings.alarm_description = description
    settings.alarm_actions = [topic.arn]
    settings.ok_actions = [topic.arn]
    settings.treat_missing_data = treat_missing_data
    return aws.cloudwatch.MetricAlarm(name, args=settings, opts=pulumi.ResourceOptions(parent=parent))


def query(
    query_id: str, namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]]
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            period=FIVE_MINUTES,
            stat="Sum",
        ),
    )


def five_xx_rate(
    name: str,
    name_parts: tuple[str, ...],
    description: str,
    namespace: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    topic: aws.sns.Topic,
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """More than 5% of requests answered 5xx for two periods (the gateway's through the ALB, a
    server's through its Service Connect proxy)."""
    return alarm(
        name,
        name_parts,
        description,
        aws.cloudwatch.MetricAlarmArgs(
            comparison_operator="GreaterThanThreshold",
            threshold=5,
            evaluation_periods=2,
            metric_queries=[
                # 5xx counts are absent, not 0, in quiet periods.
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate",
                    expression="100 * FILL(errors, 0) / MAX([FILL(errors, 0), requests])",
                    label="5xx %",
                    return_data=True,
                ),
                query("errors", namespace, "HTTPCode_Target_5XX_Count", dimensions),
                query("requests", namespace, "RequestCount", dimensions),
            ],
        ),
        topic,
        parent,
    )
