"""The gateway (gateway/): the platform's one public service, in front of every server.

Its Service exists from the start (`gateway_address`), so servers that verify its tokens can be
given its JWKS URL and wait for the Service. Everything else is made in `finish()`, once every
server has registered (`gateway_workload`): the routes are known then, and the pods wait for the
servers they forward to. Servers need not wait for the gateway's pods: no request reaches them
before it serves, and they fetch its JWKS on the first token.

The Deployment is hardened like the servers' (non-root, read-only root, no API token), probes
/health and /ready on its port, spreads over zones and nodes, scales on CPU and keeps all but
one replica through voluntary disruptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.k8s import netpol
from mcp_deploy.k8s.meta import labels, metadata, selector
from mcp_deploy.k8s.platform.gateway_policy import gateway_policy
from mcp_deploy.k8s.platform.gateway_secret import gateway_secret, secret_env_names
from mcp_deploy.k8s.platform.redis import Redis
from mcp_deploy.k8s.platform.upstreams import Upstream, gateway_routes
from mcp_deploy.k8s.pods import (
    ROLLOUT_ANNOTATION,
    container_security,
    cpu_autoscaler,
    plain_env,
    pod_security,
    probe,
    rollout_annotation,
    scratch_tmp,
    secret_env,
    spread,
)
from mcp_deploy.k8s.scrape import scrape_annotations
from mcp_deploy.platform_spec import PlatformSpec
from mcp_deploy.server_spec import DRAIN_SECONDS, MetricsUse
from mcp_deploy.tracing import tracing_env

USER = 10001  # the image's own user (gateway/Dockerfile)
TARGET_CPU_PERCENT = 60
JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class GatewayAddress:
    instance: str  # the Service's name and the pods' `app.kubernetes.io/instance`
    namespace: str
    port: int
    service: k8s.core.v1.Service

    @property
    def pod_labels(self) -> dict[str, str]:
        return selector(self.instance)

    @property
    def jwks_url(self) -> str:
        """Private: the public route never forwards this path (public_route.py)."""
        return f"http://{self.instance}.{self.namespace}.svc:{self.port}{JWKS_PATH}"


def issuer(domain: str) -> str:
    """The `iss` of the tokens the gateway signs for servers (GATEWAY_ISSUER)."""
    return f"https://{domain}/gateway"


def gateway_address(
    name: str,
    instance: str,
    namespace: str,
    port: int,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> GatewayAddress:
    service = k8s.core.v1.Service(
        f"{name}-gateway",
        metadata=metadata(instance, namespace, "gateway", instance),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector(instance),
            ports=[k8s.core.v1.ServicePortArgs(name="http", port=port, target_port="http")],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
    return GatewayAddress(instance=instance, namespace=namespace, port=port, service=service)


@dataclass(frozen=True)
class GatewayInputs:
    """What the gateway's pods take from the rest of the platform."""

    image: pulumi.Input[str]
    upstreams: list[Upstream]
    redis: Redis | None
    entry_peers: list[k8s.networking.v1.NetworkPolicyPeerArgs]
    scrapers: str | None  # the namespace of the Prometheus that scrapes /metrics


def gateway_workload(
    name: str,
    spec: PlatformSpec,
    address: GatewayAddress,
    found: GatewayInputs,
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.apps.v1.Deployment:
    namespace, instance = address.namespace, address.instance
    inside = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    secret = gateway_secret(name, namespace, instance, found.redis, spec.sentry_dsn, depends_on, parent)
    policy = gateway_policy(
        name,
        namespace,
        instance,
        address.port,
        found.entry_peers,
        found.upstreams,
        found.redis,
        found.scrapers,
        netpol.otlp(spec.k8s.otlp_endpoint, spec.tracing_sample_ratio),
        depends_on,
        parent,
    )
    account = k8s.core.v1.ServiceAccount(
        f"{name}-gateway",
        metadata=metadata(instance, namespace, "gateway", instance),
        automount_service_account_token=False,
        opts=inside,
    )
    pod_labels = {**labels("gateway", instance), **(found.redis.client_label if found.redis else {})}
    waits = [
        *depends_on,
        secret,
        policy,
        account,
        address.service,
        *(found.redis.resources if found.redis else ()),
        *(resource for upstream in found.upstreams for resource in upstream.resources),
    ]
    deployment = k8s.apps.v1.Deployment(
        f"{name}-gateway",
        metadata=metadata(instance, namespace, "gateway", instance),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=spec.gateway.min_replicas,
            revision_history_limit=5,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance)),
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
            ),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    labels=pod_labels,
                    annotations={
                        ROLLOUT_ANNOTATION: rollout_annotation(secret),
                        **scrape_annotations(MetricsUse(port=address.port)),
                    },
                ),
                spec=_pod_spec(spec, address, found, account, secret),
            ),
        ),
        # The HPA owns the replica count after the first rollout.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits, ignore_changes=["spec.replicas"]),
    )
    cpu_autoscaler(
        f"{name}-gateway",
        metadata(instance, namespace, "gateway", instance),
        deployment,
        (spec.gateway.min_replicas, spec.gateway.max_replicas),
        TARGET_CPU_PERCENT,
        inside,
    )
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-gateway",
        metadata=metadata(instance, namespace, "gateway", instance),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector(instance))
        ),
        opts=inside,
    )
    return deployment


def gateway_env(spec: PlatformSpec, address: GatewayAddress, found: GatewayInputs) -> dict[str, str]:
    """The plain settings (gateway/src/mcp_gateway/settings.py); the secret ones go by reference."""
    env = {
        "GATEWAY_HOST": "0.0.0.0",
        "GATEWAY_PORT": str(address.port),
        "GATEWAY_PUBLIC_URL": f"https://{spec.domain}",
        "GATEWAY_ISSUER": issuer(spec.domain),
        "GATEWAY_ROUTES": gateway_routes(found.upstreams, address.namespace),
        "AUTH_ISSUER": spec.auth_issuer,
        "RATE_LIMIT_PER_MINUTE": str(spec.gateway.rate_limit_per_minute),
        "DRAIN_SECONDS": str(DRAIN_SECONDS),
    }
    if spec.auth_audience:
        env["AUTH_AUDIENCE"] = spec.auth_audience
    if spec.gateway.allowed_origins:
        env["GATEWAY_ALLOWED_ORIGINS"] = ",".join(spec.gateway.allowed_origins)
    if found.redis is not None:
        env["REDIS_KEY_PREFIX"] = "gateway:"
    env.update(tracing_env(spec.k8s.otlp_endpoint, spec.tracing_sample_ratio, "mcp-gateway"))
    return env


def _pod_spec(
    spec: PlatformSpec,
    address: GatewayAddress,
    found: GatewayInputs,
    account: k8s.core.v1.ServiceAccount,
    secret: k8s.core.v1.Secret,
) -> k8s.core.v1.PodSpecArgs:
    volume, mount = scratch_tmp()
    millicores = math.ceil(spec.gateway.cpu * 1000 / 1024)
    memory = f"{spec.gateway.memory}Mi"
    container = k8s.core.v1.ContainerArgs(
        name="gateway",
        image=found.image,
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=address.port)],
        env=[
            *plain_env(gateway_env(spec, address, found)),
            *secret_env(secret.metadata.name, secret_env_names(found.redis, spec.sentry_dsn)),
        ],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": f"{millicores}m", "memory": memory},
            limits={"cpu": f"{millicores * 2}m", "memory": memory},
        ),
        startup_probe=probe("/health", period=2, failures=30),
        readiness_probe=probe("/ready", period=10, failures=3),
        liveness_probe=probe("/health", period=15, failures=3),
        security_context=container_security(),
        volume_mounts=[mount],
    )
    return k8s.core.v1.PodSpecArgs(
        service_account_name=account.metadata.name,
        automount_service_account_token=False,
        security_context=pod_security(USER),
        termination_grace_period_seconds=DRAIN_SECONDS + 15,  # longer than the gateway drains
        topology_spread_constraints=[
            spread(address.instance, "topology.kubernetes.io/zone"),
            spread(address.instance, "kubernetes.io/hostname"),
        ],
        containers=[container],
        volumes=[volume],
    )
