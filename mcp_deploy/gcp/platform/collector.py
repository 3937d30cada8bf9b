"""Metrics and traces on gcp-cloudrun: the Google-Built OpenTelemetry Collector as a sidecar of
every scraped or traced service (gateway and servers). One sidecar for both signals: its
prometheus receiver scrapes the service's /metrics over localhost into Google Managed Prometheus
(googlemanagedprometheus exporter), and with tracing on its OTLP receiver on localhost:4318 sends
spans to Cloud Trace (googlecloud exporter). The config is in an env var (`--config=env:`): it
holds no secret, and a changed config is a new revision. The service's account may write metrics
and traces (roles/monitoring.metricWriter, roles/cloudtrace.agent), nothing else.

Each instance writes its own series: the prometheus receiver names the target `localhost:<port>`
(service.instance.id), the same on every instance of a service, and Managed Prometheus takes its
`instance` label from service.instance.id, so all instances would write one series (refused
writes, counters that seem to reset). As Google's Cloud Run sidecar (run-gmp-sidecar) does, a
transform sets it from the Cloud Run instance id the gcp detector finds: faas.instance (faas.id
in collectors before 0.131). `cluster` needs nothing: the exporter makes it `__run__` on Cloud
Run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.dashboards.metrics import PLATFORM_LABEL, SERVICE_LABEL
from mcp_deploy.server_spec import MetricsUse

# Pinned: a collector upgrade changes what reaches Managed Prometheus and Cloud Trace.
IMAGE = (
    "us-docker.pkg.dev/cloud-ops-agents-artifacts/google-cloud-opentelemetry-collector/otelcol-google:0.144.0"
)
CONTAINER = "collector"
CONFIG_ENV = "OTELCOL_CONFIG"
HEALTH_PORT = 13133
OTLP_PORT = 4318
METRIC_WRITER = "roles/monitoring.metricWriter"
TRACE_AGENT = "roles/cloudtrace.agent"
TRACE_API = "cloudtrace.googleapis.com"
INSTANCE_ID = "transform/instance_id"
# Resource context: the Cloud Run instance id as service.instance.id, read by the exporter as the
# `instance` label. After resourcedetection, which finds the id.
INSTANCE_ID_STATEMENTS = [
    'set(attributes["service.instance.id"], attributes["faas.instance"])'
    ' where attributes["faas.instance"] != nil',
    'set(attributes["service.instance.id"], attributes["faas.id"])'
    ' where attributes["faas.instance"] == nil and attributes["faas.id"] != nil',
]


@dataclass(frozen=True)
class Telemetry:
    platform: str  # the mcp_platform label
    sample_ratio: float
    apis: list[gcp.projects.Service]  # Cloud Trace's, when tracing

    @property
    def tracing(self) -> bool:
        return self.sample_ratio > 0


def telemetry(name: str, instance: str, project: str, ratio: float, parent: pulumi.Resource) -> Telemetry:
    """Cloud Monitoring's API is already on (apis.py); Cloud Trace's only when something traces."""
    apis = (
        [
            gcp.projects.Service(
                f"{name}-api-cloudtrace",
                project=project,
                service=TRACE_API,
                disable_on_destroy=False,
                opts=pulumi.ResourceOptions(parent=parent),
            )
        ]
        if ratio > 0
        else []
    )
    return Telemetry(platform=instance, sample_ratio=ratio, apis=apis)


def collector_config(t: Telemetry, service: str, metrics: MetricsUse | None) -> str:
    receivers: dict[str, Any] = {}
    exporters: dict[str, Any] = {}
    pipelines: dict[str, Any] = {}
    processors = ["resourcedetection", "batch"]
    configured: dict[str, Any] = {
        "resourcedetection": {"detectors": ["env", "gcp"], "timeout": "10s"},
        "batch": {"timeout": "10s"},
    }
    if metrics is not None:
        receivers["prometheus"] = {
            "config": {
                "scrape_configs": [
                    {
                        "job_name": service,
                        "scrape_interval": "30s",
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
        exporters["googlemanagedprometheus"] = {}
        configured[INSTANCE_ID] = {
            "error_mode": "ignore",
            "metric_statements": [{"context": "resource", "statements": INSTANCE_ID_STATEMENTS}],
        }
        pipelines["metrics"] = {
            "receivers": ["prometheus"],
            "processors": ["resourcedetection", INSTANCE_ID, "batch"],
            "exporters": ["googlemanagedprometheus"],
        }
    if t.tracing:
        receivers["otlp"] = {"protocols": {"http": {"endpoint": f"localhost:{OTLP_PORT}"}}}
        exporters["googlecloud"] = {}
        pipelines["traces"] = {"receivers": ["otlp"], "processors": processors, "exporters": ["googlecloud"]}
    return json.dumps(
        {
            "receivers": receivers,
            "processors": configured,
            "exporters": exporters,
            "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
            "service": {"extensions": ["health_check"], "pipelines": pipelines},
        },
        sort_keys=True,
    )


def collector_container(
    t: Telemetry, service: str, metrics: MetricsUse | None, cpu_idle: bool
) -> gcp.cloudrunv2.ServiceTemplateContainerArgs | None:
    """None when the service has nothing to collect. `cpu_idle` is the main container's: CPU
    allocation is the instance's, so the sidecar must not ask for another."""
    if metrics is None and not t.tracing:
        return None
    return gcp.cloudrunv2.ServiceTemplateContainerArgs(
        name=CONTAINER,
        image=IMAGE,
        args=[f"--config=env:{CONFIG_ENV}"],
        envs=[
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=CONFIG_ENV, value=collector_config(t, service, metrics)
            )
        ],
        resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
            limits={"cpu": "1", "memory": "512Mi"}, cpu_idle=cpu_idle
        ),
        startup_probe=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
            http_get=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(
                path="/", port=HEALTH_PORT
            ),
            period_seconds=2,
            failure_threshold=30,
            timeout_seconds=2,
        ),
    )


def collector_grants(
    name: str,
    t: Telemetry,
    project: str,
    member: pulumi.Input[str],
    metrics: MetricsUse | None,
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    """Project-level: neither role has a narrower resource to grant on."""
    roles = ([METRIC_WRITER] if metrics is not None else []) + ([TRACE_AGENT] if t.tracing else [])
    return [
        gcp.projects.IAMMember(
            f"{name}-{role.split('/')[1].replace('.', '-').lower()}",
            project=project,
            role=role,
            member=member,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=t.apis),
        )
        for role in roles
    ]
