"""The server on Cloud Run: its image, port, command, probes on its own port and paths, plain env
and secrets by reference to pinned versions, Direct VPC egress to the private data tier, and
ingress only through the load balancer."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import run_name
from mcp_deploy.gcp.platform.network import Network
from mcp_deploy.gcp.server.secrets import StoredSecret
from mcp_deploy.platform_spec import GcpSpec
from mcp_deploy.server_spec import ServerSpec

# Cloud Run's CPU steps, each with the memory range (MiB) it allows.
CLOUD_RUN_MEMORY = {1: (512, 4096), 2: (512, 8192), 4: (2048, 16384), 6: (4096, 24576), 8: (4096, 32768)}
REQUEST_TIMEOUT = "3600s"  # streamed responses and subscriptions may stay open this long

Env = gcp.cloudrunv2.ServiceTemplateContainerEnvArgs
SecretRef = gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs


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


def cloud_run_size(cpu_units: int, memory_mib: int) -> tuple[str, str]:
    """CPU units (1024 = 1 vCPU) and MiB to Cloud Run's steps: the fewest whole vCPUs from its
    set that cover both the units asked for and the memory (more memory needs more CPUs), then at
    least the memory those CPUs require."""
    vcpus = next(
        (
            cpus
            for cpus, (_, most) in CLOUD_RUN_MEMORY.items()
            if cpus >= math.ceil(cpu_units / 1024) and memory_mib <= most
        ),
        8,
    )
    return str(vcpus), f"{min(max(CLOUD_RUN_MEMORY[vcpus][0], memory_mib), CLOUD_RUN_MEMORY[vcpus][1])}Mi"


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
    envs = [Env(name=key, value=value) for key, value in sorted(workload.plain_env.items())]
    envs += [
        Env(
            name=stored.env,
            value_source=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                secret_key_ref=SecretRef(secret=stored.secret.secret_id, version=stored.version.version)
            ),
        )
        for stored in sorted(workload.secrets, key=lambda s: s.env)
    ]
    service = gcp.cloudrunv2.Service(
        f"{name}-service",
        project=google.project,
        location=google.region,
        name=run_name(prefix, spec.name),
        ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        deletion_protection=production,
        template=gcp.cloudrunv2.ServiceTemplateArgs(
            service_account=workload.account_email,
            timeout=REQUEST_TIMEOUT,
            max_instance_request_concurrency=spec.concurrency,
            session_affinity=spec.sticky,
            scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(
                min_instance_count=spec.min_replicas, max_instance_count=spec.max_replicas
            ),
            vpc_access=gcp.cloudrunv2.ServiceTemplateVpcAccessArgs(
                egress="PRIVATE_RANGES_ONLY",
                network_interfaces=[
                    gcp.cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                        network=net.vpc.id, subnetwork=net.subnet.id
                    )
                ],
            ),
            containers=[
                gcp.cloudrunv2.ServiceTemplateContainerArgs(
                    image=workload.image,
                    commands=spec.command,
                    args=spec.args,
                    ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=spec.port),
                    resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                        limits={"cpu": cpu, "memory": memory}, cpu_idle=True, startup_cpu_boost=True
                    ),
                    envs=envs,
                    startup_probe=_startup_probe(spec),
                    liveness_probe=_liveness_probe(spec),
                )
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=workload.needs),
    )
    # Requests reach Cloud Run only through the load balancer (ingress above); the server does
    # its own OAuth, so the LB may invoke without Google identity tokens.
    gcp.cloudrunv2.ServiceIamMember(
        f"{name}-invoker",
        project=google.project,
        location=google.region,
        name=service.name,
        role="roles/run.invoker",
        member="allUsers",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return service


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
