"""A server's burn-rate alarms on aws-ecs, from Service Connect's metrics of the requests the
gateway sends it (AwsPlatform.gateway_calls, as server/alarms.py reads them).

CloudWatch has no two-window alarm, so each burn rate is a composite alarm, ALARM(long) AND
ALARM(short), over two metric-math alarms that notify no one themselves; only the composite goes
to the platform's topic. Each window is one alarm period, so the alarm sees the whole window's
sums, not the last five minutes of it.

Availability: 5xx over all requests. Latency: 100 - PR(:objective) of TargetResponseTime, the
share of requests slower than the objective. A sticky server's requests bypass Service Connect
(the gateway dials its tasks), so no per-server metric exists for it here and it gets none.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import ServerSpec
from mcp_deploy.slo import BURN_RATES, INDICATORS, BurnRate, Indicator, Slo, duration

NAMESPACE = "AWS/ECS"
NAME_LIMIT = 255


def slo_alarms(
    spec: ServerSpec, platform: AwsPlatform, parent: pulumi.Resource
) -> list[aws.cloudwatch.CompositeAlarm]:
    if spec.sticky:
        return []
    connect = platform.gateway_calls(spec.name)
    found = []
    for indicator in INDICATORS:
        for rate in BURN_RATES:
            label = f"slo-{indicator}-{rate.label}"
            windows = [
                _window_alarm(spec, platform.prefix, indicator, rate, seconds, connect, parent)
                for seconds in (rate.long_seconds, rate.short_seconds)
            ]
            rule = pulumi.Output.concat('ALARM("', windows[0].name, '") AND ALARM("', windows[1].name, '")')
            found.append(
                aws.cloudwatch.CompositeAlarm(
                    f"{spec.name}-{label}",
                    alarm_name=physical_name(platform.prefix, spec.name, label, limit=NAME_LIMIT),
                    alarm_description=_description(spec, indicator, rate),
                    alarm_rule=rule,
                    alarm_actions=[platform.topic.arn],
                    ok_actions=[platform.topic.arn],
                    opts=pulumi.ResourceOptions(parent=parent),
                )
            )
    return found


def _window_alarm(
    spec: ServerSpec,
    prefix: str,
    indicator: Indicator,
    rate: BurnRate,
    seconds: int,
    dimensions: Mapping[str, pulumi.Input[str]],
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """The bad share of requests, in percent, over one window, above the burn rate's threshold."""
    label = f"slo-{indicator}-{rate.label}-{duration(seconds)}"
    return aws.cloudwatch.MetricAlarm(
        f"{spec.name}-{label}",
        name=physical_name(prefix, spec.name, label, limit=NAME_LIMIT),
        alarm_description=f"{spec.name}: part of the {rate.label} {indicator} burn-rate alarm "
        f"(the composite notifies; this one does not)",
        comparison_operator="GreaterThanThreshold",
        threshold=round(100 * spec.slo.threshold(indicator, rate), 8),
        evaluation_periods=1,
        # A quiet window has no requests and no bad ones: nothing burns.
        treat_missing_data="notBreaching",
        metric_queries=_queries(indicator, spec.slo, seconds, dimensions),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _queries(
    indicator: Indicator, slo: Slo, seconds: int, dimensions: Mapping[str, pulumi.Input[str]]
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    if indicator == "availability":
        return [
            # 5xx counts are absent, not 0, in windows without one.
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="bad",
                expression="100 * FILL(errors, 0) / MAX([FILL(errors, 0), requests])",
                label="5xx %",
                return_data=True,
            ),
            _metric("errors", "HTTPCode_Target_5XX_Count", "Sum", seconds, dimensions),
            _metric("requests", "RequestCount", "Sum", seconds, dimensions),
        ]
    return [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="bad",
            expression="100 - within",
            label=f"% slower than {slo.latency_p99_ms} ms",
            return_data=True,
        ),
        # Percentile rank: the percent of responses at or under the objective (milliseconds).
        _metric("within", "TargetResponseTime", f"PR(:{slo.latency_p99_ms})", seconds, dimensions),
    ]


def _metric(
    query_id: str, metric: str, stat: str, seconds: int, dimensions: Mapping[str, pulumi.Input[str]]
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=NAMESPACE, metric_name=metric, dimensions=dict(dimensions), period=seconds, stat=stat
        ),
    )


def _description(spec: ServerSpec, indicator: Indicator, rate: BurnRate) -> str:
    objective = (
        f"{spec.slo.availability}% of requests without a 5xx"
        if indicator == "availability"
        else f"99% of requests within {spec.slo.latency_p99_ms} ms"
    )
    long, short = duration(rate.long_seconds), duration(rate.short_seconds)
    return (
        f"{rate.severity}: {spec.name}'s error budget ({objective}, 30 days) is burning "
        f"{rate.factor:g}x over {long} and {short}: {rate.budget_spent:.0%} of it is gone in {long}"
    )
