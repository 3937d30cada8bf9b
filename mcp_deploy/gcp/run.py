"""What every Cloud Run service of the platform shares (the servers' and the gateway's): sizes in
Cloud Run's steps, env with secrets by reference, and egress through the VPC."""

from __future__ import annotations

import math

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.platform.network import Network
from mcp_deploy.gcp.secrets import StoredSecret

# Cloud Run's CPU steps, each with the memory range (MiB) it allows.
CLOUD_RUN_MEMORY = {1: (512, 4096), 2: (512, 8192), 4: (2048, 16384), 6: (4096, 24576), 8: (4096, 32768)}
REQUEST_TIMEOUT = "3600s"  # streamed responses and subscriptions may stay open this long

Env = gcp.cloudrunv2.ServiceTemplateContainerEnvArgs
SecretRef = gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs


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


def container_envs(
    plain: dict[str, pulumi.Input[str]], secrets: list[StoredSecret]
) -> list[gcp.cloudrunv2.ServiceTemplateContainerEnvArgs]:
    """Plain values, then secrets by reference to the version the program created (not `latest`)."""
    envs = [Env(name=key, value=value) for key, value in sorted(plain.items())]
    envs += [
        Env(
            name=stored.env,
            value_source=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                secret_key_ref=SecretRef(secret=stored.secret.secret_id, version=stored.version.version)
            ),
        )
        for stored in sorted(secrets, key=lambda s: s.env)
    ]
    return envs


def vpc_egress(net: Network) -> gcp.cloudrunv2.ServiceTemplateVpcAccessArgs:
    """Direct VPC egress for all traffic: the data tier's private IPs, internal run.app URLs (which
    count as internal only from the VPC), and the internet through the platform's Cloud NAT."""
    return gcp.cloudrunv2.ServiceTemplateVpcAccessArgs(
        egress="ALL_TRAFFIC",
        network_interfaces=[
            gcp.cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                network=net.vpc.id, subnetwork=net.subnet.id
            )
        ],
    )
