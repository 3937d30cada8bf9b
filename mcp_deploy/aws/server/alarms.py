"""Alarms on one server, to the platform's topic: its 5xx rate and p99 latency as the gateway's
Service Connect proxy sees the requests it sends it (AwsPlatform.gateway_calls), CPU and memory.
A sticky server bypasses Service Connect (the gateway dials its tasks), so the gateway's own
alarms and per-route metrics cover its requests."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.alarm import FIVE_MINUTES, alarm, five_xx_rate
from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.server.workload import Workload
from mcp_deploy.server_spec import ServerSpec


def server_alarms(spec: ServerSpec, platform: AwsPlatform, work: Workload, parent: pulumi.Resource) -> None:
    name, prefix, topic = spec.name, platform.prefix, platform.topic
    service = {"ClusterName": platform.cluster.name, "ServiceName": work.service.name}
    if not spec.sticky:
        connect = platform.gateway_calls(name)
        five_xx_rate(
            f"{name}-5xx-rate",
            (prefix, name, "5xx-rate"),
            f"More than 5% of requests to {name} failed with a 5xx for 10 minutes",
            "AWS/ECS",
            connect,
            topic,
            parent,
        )
        alarm(
            f"{name}-latency-p99",
            (prefix, name, "latency-p99"),
            f"{name}: p99 response time above 2 s for 15 minutes",
            aws.cloudwatch.MetricAlarmArgs(
                namespace="AWS/ECS",
                metric_name="TargetResponseTime",  # milliseconds
                dimensions=connect,
                extended_statistic="p99",
                period=FIVE_MINUTES,
                evaluation_periods=3,
                comparison_operator="GreaterThanThreshold",
                threshold=2000,
            ),
            topic,
            parent,
        )
    for metric, label in (("CPUUtilization", "cpu"), ("MemoryUtilization", "memory")):
        alarm(
            f"{name}-service-{label}",
            (prefix, name, f"service-{label}"),
            f"{name}: {label} above 85% for 15 minutes",
            aws.cloudwatch.MetricAlarmArgs(
                namespace="AWS/ECS",
                metric_name=metric,
                dimensions=service,
                statistic="Average",
                period=FIVE_MINUTES,
                evaluation_periods=3,
                comparison_operator="GreaterThanThreshold",
                threshold=85,
            ),
            topic,
            parent,
        )
