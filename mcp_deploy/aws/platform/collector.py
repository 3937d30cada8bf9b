"""Metrics and traces on aws-ecs: an ADOT collector sidecar in every task (the gateway's and each
scraped or traced server's). It scrapes the task's own /metrics over localhost (prometheus
receiver) into CloudWatch as EMF (awsemf: one log group and one namespace per platform, only the
dimension sets the dashboard reads), and, when tracing is on, receives OTLP on localhost:4318 and
sends it to X-Ray. Its config travels in AOT_CONFIG_CONTENT: it holds no secret, and a changed
config is a new task definition, so tasks roll with it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.container import container
from mcp_deploy.aws.iam import Role, service_role
from mcp_deploy.dashboards.metrics import PLATFORM_LABEL, SERVICE_LABEL
from mcp_deploy.dashboards.panels import cloudwatch_declarations
from mcp_deploy.names import physical_name
from mcp_deploy.server_spec import MetricsUse

# Pinned: a collector upgrade changes what reaches CloudWatch and X-Ray; it is a reviewed change.
IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
CONTAINER = "collector"
OTLP_PORT = 4318
SCRAPE_INTERVAL = "30s"
USER = 10001  # the ADOT image's own non-root user (its Dockerfile's USER_UID)
MEMORY_MIB = 128  # reserved inside the task's memory; the collector's own limiter keeps under it
# Without a resource form in IAM: X-Ray's write calls accept only "*".
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
EMF_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]


@dataclass(frozen=True)
class Telemetry:
    """What a platform's tasks share: the EMF log group and namespace, and whether to trace."""

    platform: str  # the mcp_platform label/dimension
    namespace: str  # CloudWatch namespace of the scraped metrics
    log_group: aws.cloudwatch.LogGroup
    sample_ratio: float

    @property
    def tracing(self) -> bool:
        return self.sample_ratio > 0


def telemetry(
    name: str, instance: str, retention_days: int, ratio: float, parent: pulumi.Resource
) -> Telemetry:
    """The log group exists before any collector writes, with our retention (awsemf would create
    one that keeps everything forever)."""
    group = aws.cloudwatch.LogGroup(
        f"{name}-metrics",
        name=f"/mcp-deploy/{physical_name(name, 'metrics', limit=400)}",
        retention_in_days=retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return Telemetry(platform=instance, namespace=f"MCP/{instance}", log_group=group, sample_ratio=ratio)


def collector_config(t: Telemetry, service: str, metrics: MetricsUse | None, log_group: str) -> str:
    """The collector's YAML (as JSON, which YAML reads): one pipeline per signal it has."""
    receivers: dict[str, Any] = {}
    exporters: dict[str, Any] = {}
    pipelines: dict[str, Any] = {}
    if metrics is not None:
        receivers["prometheus"] = {
            "config": {
                "scrape_configs": [
                    {
                        "job_name": service,
                        "scrape_interval": SCRAPE_INTERVAL,
                        "metrics_path": metrics.path,
                        "static_configs": [
                            {
                                "targets": [f"localhost:{metrics.port}"],
                                "labels": {PLATFORM_LABEL: t.platform, SERVICE_LABEL: service},
                            }
                        ],
                    }
                ]
            }
        }
        exporters["awsemf"] = {
            "namespace": t.namespace,
            "log_group_name": log_group,
            "log_stream_name": service + "/{TaskId}",
            "dimension_rollup_option": "NoDimensionRollup",
            "metric_declarations": cloudwatch_declarations(),
        }
        pipelines["metrics"] = {"receivers": ["prometheus"], "processors": ["batch"], "exporters": ["awsemf"]}
    if t.tracing:
        receivers["otlp"] = {"protocols": {"http": {"endpoint": f"localhost:{OTLP_PORT}"}}}
        exporters["awsxray"] = {}
        pipelines["traces"] = {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["awsxray"]}
    return json.dumps(
        {
            "receivers": receivers,
            "processors": {"batch": {"timeout": "10s"}},
            "exporters": exporters,
            "service": {"pipelines": pipelines},
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class Sidecar:
    container: dict[str, Any]
    role: Role  # the task role: exactly what the collector calls


def sidecar(
    t: Telemetry,
    service: str,
    resource_name: str,
    name_parts: tuple[str, ...],
    metrics: MetricsUse | None,
    logs: aws.cloudwatch.LogGroup,
    region: pulumi.Input[str],
    parent: pulumi.Resource,
) -> Sidecar | None:
    """None when the task has nothing to collect (no metrics endpoint, tracing off)."""
    if metrics is None and not t.tracing:
        return None
    config = t.log_group.name.apply(lambda group: collector_config(t, service, metrics, group))
    definition = container(
        CONTAINER,
        IMAGE,
        {"AOT_CONFIG_CONTENT": config},
        {},
        logs,
        region,
        user=USER,
        # A collector that stops loses telemetry, not requests: the task keeps serving.
        essential=False,
    )
    definition["memoryReservation"] = MEMORY_MIB
    statements: list[dict[str, Any]] = []
    if metrics is not None:
        statements.append(
            {
                "Effect": "Allow",
                "Action": EMF_ACTIONS,
                "Resource": [t.log_group.arn, t.log_group.arn.apply(lambda arn: f"{arn}:*")],
            }
        )
    if t.tracing:
        statements.append({"Effect": "Allow", "Action": XRAY_ACTIONS, "Resource": "*"})
    role = service_role(
        f"{resource_name}-task", (*name_parts, "task"), "ecs-tasks.amazonaws.com", statements, parent
    )
    return Sidecar(container=definition, role=role)
