"""The server on Cloud Run: its own service account, Direct VPC egress to the private data tier,
ingress only through the load balancer, secrets as Secret Manager references."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.args import SERVER_PORT, GcpArgs, McpServiceArgs
from mcp_deploy.gcp.data import DataTier, redis_ca_bundle
from mcp_deploy.gcp.network import Network
from mcp_deploy.gcp.secrets import ServerSecrets, grant_access

# Cloud Run's CPU steps, each with the memory range (MiB) it allows.
CLOUD_RUN_MEMORY = {1: (512, 4096), 2: (512, 8192), 4: (2048, 16384), 6: (4096, 24576), 8: (4096, 32768)}
REQUEST_TIMEOUT = "3600s"  # streamed responses and subscriptions may stay open this long


@dataclass(frozen=True)
class CloudRun:
    service: gcp.cloudrunv2.Service


def cloud_run_size(cpu_units: int, memory_mib: int) -> tuple[str, str]:
    """Config CPU units (1024 = 1 vCPU) and MiB to Cloud Run's steps: the fewest whole vCPUs from
    its set that cover both the units asked for and the memory (more memory needs more CPUs), then
    at least the memory those CPUs require. Config caps both at Cloud Run's maxima."""
    vcpus = next(
        cpus
        for cpus, (_, most) in CLOUD_RUN_MEMORY.items()
        if cpus >= math.ceil(cpu_units / 1024) and memory_mib <= most
    )
    return str(vcpus), f"{max(CLOUD_RUN_MEMORY[vcpus][0], memory_mib)}Mi"


def cloud_run(
    name: str,
    args: McpServiceArgs,
    gcp_args: GcpArgs,
    image: pulumi.Output[str],
    net: Network,
    data: DataTier,
    secrets: ServerSecrets,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
) -> CloudRun:
    account = gcp.serviceaccount.Account(
        f"{name}-server",
        project=gcp_args.project,
        account_id=f"{name}-server",
        display_name="mcp-deploy server (Cloud Run)",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    member = pulumi.Output.concat("serviceAccount:", account.email)
    for label, secret in (
        ("database-url", secrets.database_url),
        ("redis-url", secrets.redis_url),
        ("request-state-key", secrets.request_state_key),
    ):
        grant_access(f"{name}-server-reads-{label}", secret, member, parent)
    cpu, memory = cloud_run_size(args.service.cpu, args.service.memory_mib)
    plain = {"MCP_HOST": "0.0.0.0", **args.server_settings()}
    envs: list[gcp.cloudrunv2.ServiceTemplateContainerEnvArgs] = [
        gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name=key, value=value)
        for key, value in sorted(plain.items())
    ]
    envs.append(
        gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
            name="REDIS_CA_CERT", value=redis_ca_bundle(data.redis)
        )
    )
    for variable, secret in (
        ("DATABASE_URL", secrets.database_url),
        ("REDIS_URL", secrets.redis_url),
        ("MCP_REQUEST_STATE_KEY", secrets.request_state_key),
    ):
        envs.append(
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=variable,
                value_source=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                        secret=secret.secret_id, version="latest"
                    )
                ),
            )
        )
    probe = gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(path="/health", port=SERVER_PORT)
    service = gcp.cloudrunv2.Service(
        f"{name}-server",
        project=gcp_args.project,
        location=gcp_args.region,
        name=f"{name}-server",
        ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        deletion_protection=args.production,
        template=gcp.cloudrunv2.ServiceTemplateArgs(
            service_account=account.email,
            timeout=REQUEST_TIMEOUT,
            max_instance_request_concurrency=args.service.concurrency,
            scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(
                min_instance_count=args.service.min_replicas, max_instance_count=args.service.max_replicas
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
                    image=image,
                    args=["serve"],
                    ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=SERVER_PORT),
                    resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                        limits={"cpu": cpu, "memory": memory}, cpu_idle=True, startup_cpu_boost=True
                    ),
                    envs=envs,
                    startup_probe=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                        http_get=probe, period_seconds=2, failure_threshold=30, timeout_seconds=2
                    ),
                    liveness_probe=gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
                        http_get=gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(
                            path="/health", port=SERVER_PORT
                        ),
                        period_seconds=15,
                        failure_threshold=3,
                        timeout_seconds=3,
                    ),
                )
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*apis, data.postgres, data.redis]),
    )
    # Requests reach Cloud Run only through the load balancer (ingress above); the server does
    # its own OAuth, so the LB may invoke without Google identity tokens.
    gcp.cloudrunv2.ServiceIamMember(
        f"{name}-server-invoker",
        project=gcp_args.project,
        location=gcp_args.region,
        name=service.name,
        role="roles/run.invoker",
        member="allUsers",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return CloudRun(service=service)
