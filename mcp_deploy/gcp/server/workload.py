"""The server on Cloud Run: its image, port, command, probes on its own port and paths, plain env
and secrets by reference to pinned versions, all egress through the VPC, and internal ingress
only: the gateway (over the VPC) is the one caller, and only its account may invoke."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import run_name
from mcp_deploy.gcp.platform.network import Network
from mcp_deploy.gcp.run import REQUEST_TIMEOUT, cloud_run_size, container_envs, vpc_egress
from mcp_deploy.gcp.secrets import StoredSecret
from mcp_deploy.platform_spec import GcpSpec
from mcp_deploy.server_spec import ServerSpec


@dataclass(frozen=True)
class Workload:
    spec: ServerSpec
    image: pulumi.Input[str]
    account_email: pulumi.Input[str]
    plain_env: dict[str, pulumi.Input[str]]
    secrets: list[StoredSecret]
    # Everything the first revision needs in place before it starts: secret versions and their
    # grants, the database and role, Redis, the network it egresses through.
    needs: list[pulumi.Resource]
    collector: gcp.cloudrunv2.ServiceTemplateContainerArgs | None = None  # the telemetry sidecar


def cloud_run_service(
    name: str,
    prefix: str,
    workload: Workload,
    google: GcpSpec,
    net: Network,
    production: bool,
    parent: pulumi.Resource,
) -> gcp.cloudrunv2.Service:
    spec = workload.spec
    cpu, memory = cloud_run_size(spec.cpu, spec.memory)
    return gcp.cloudrunv2.Service(
        f"{name}-service",
        project=google.project,
        location=google.region,
        name=run_name(prefix, spec.name),
        # Not even the load balancer: only callers in our VPC (the gateway) reach its run.app URL.
        ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
        deletion_protection=production,
        template=gcp.cloudrunv2.ServiceTemplateArgs(
            service_account=workload.account_email,
            timeout=REQUEST_TIMEOUT,
            max_instance_request_concurrency=spec.concurrency,
            # Sticky: Cloud Run pins a client to an instance by a cookie; the gateway keeps the
            # cookie of each Mcp-Session-Id and sends it back with every request of the session.
            session_affinity=spec.sticky,
            scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(
                min_instance_count=spec.min_replicas, max_instance_count=spec.max_replicas
            ),
            vpc_access=vpc_egress(net),
            containers=[
                gcp.cloudrunv2.ServiceTemplateContainerArgs(
                    name="server",  # beside a collector sidecar: logs and errors name the container
                    image=workload.image,
                    commands=spec.command,
                    args=spec.args,
                    ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=spec.port),
                    resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                        limits={"cpu": cpu, "memory": memory}, cpu_idle=True, startup_cpu_boost=True
                    ),
                    envs=container_envs(workload.plain_env, workload.secrets),
                    startup_probe=_startup_probe(spec),
                    liveness_probe=_liveness_probe(spec),
                ),
                *([workload.collector] if workload.collector is not None else []),
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=workload.needs),
    )


def _startup_probe(spec: ServerSpec) -> gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs:
    """Ready when the readiness path answers (or the port accepts connections), for up to a minute."""
    http = (
        None
        if spec.readiness is None
        else gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(
            path=spec.readiness, port=spec.port
        )
    )
    tcp = (
        None
        if http is not None
        else gcp.cloudrunv2.ServiceTemplateContainerStartupProbeTcpSocketArgs(port=spec.port)
    )
    return gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
        http_get=http, tcp_socket=tcp, period_seconds=2, failure_threshold=30, timeout_seconds=2
    )


def _liveness_probe(spec: ServerSpec) -> gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeArgs:
    """Restarted after three misses in a row, 45 s: a busy moment is not a dead process."""
    http = (
        None
        if spec.liveness is None
        else gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(
            path=spec.liveness, port=spec.port
        )
    )
    tcp = (
        None
        if http is not None
        else gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeTcpSocketArgs(port=spec.port)
    )
    return gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
        http_get=http, tcp_socket=tcp, period_seconds=15, failure_threshold=3, timeout_seconds=3
    )
