"""The gateway: the platform's one public service (gateway/, see its README), a Cloud Run service
behind the load balancer that authenticates clients, routes /<server>/mcp to each server's
internal run.app URL with a Google ID token of its own account, and signs the upstream tokens the
servers verify through its JWKS.

Its account exists from the start (`gateway_identity`): every server grants it roles/run.invoker
as it registers. The service itself is made in finish() (`gateway_service`), once every server
has, since GATEWAY_ROUTES names them all."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_tls as tls

from mcp_deploy.gcp.names import account_id, run_name
from mcp_deploy.gcp.platform.collector import Telemetry, collector_container, collector_grants
from mcp_deploy.gcp.platform.data import redis_url
from mcp_deploy.gcp.platform.network import Network
from mcp_deploy.gcp.platform.registry import Registry
from mcp_deploy.gcp.run import REQUEST_TIMEOUT, cloud_run_size, container_envs, vpc_egress
from mcp_deploy.gcp.secrets import StoredSecret, store_secret
from mcp_deploy.image import McpImage, RegistryAccess
from mcp_deploy.platform_spec import GatewaySpec, GcpSpec
from mcp_deploy.server_spec import MetricsUse
from mcp_deploy.tracing import SIDECAR_OTLP, tracing_env

GATEWAY = "gateway"  # its name part; a server may not take it
# gateway/Dockerfile builds from the repository root (it installs server/ too), relative to the
# project directory `pulumi up` runs in.
CONTEXT = "."
DOCKERFILE = "gateway/Dockerfile"
JWKS_PATH = "/.well-known/jwks.json"
# The gateway mostly waits on upstreams and holds SSE streams open: far more requests per
# instance than a server that does the work.
CONCURRENCY = 250


@dataclass(frozen=True)
class Upstream:
    """A server as the gateway sees it: its route and what must exist before traffic reaches it."""

    name: str
    path: str
    scopes: tuple[str, ...]
    sticky: bool
    service: gcp.cloudrunv2.Service
    invoker: gcp.cloudrunv2.ServiceIamMember  # the gateway's account may call it


@dataclass(frozen=True)
class GatewayIdentity:
    account: gcp.serviceaccount.Account
    member: pulumi.Output[str]  # serviceAccount:<email>
    issuer: str  # https://<domain>/gateway: the `iss` of the tokens it signs for servers
    # Its internal URL, known before the service exists (servers are made first and need it).
    url: pulumi.Output[str]
    jwks_url: pulumi.Output[str]


def gateway_identity(
    name: str, domain: str, google: GcpSpec, apis: list[gcp.projects.Service], parent: pulumi.Resource
) -> GatewayIdentity:
    account = gcp.serviceaccount.Account(
        f"{name}-{GATEWAY}",
        project=google.project,
        account_id=account_id(name, GATEWAY),
        display_name="mcp-deploy gateway (Cloud Run)",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    # Cloud Run's deterministic URL, https://<service>-<project number>.<region>.run.app
    # (https://cloud.google.com/run/docs/triggering/https-request#deterministic): the servers'
    # JWKS URL must be known before the gateway, which routes to them, is created.
    project = gcp.organizations.get_project_output(
        project_id=google.project, opts=pulumi.InvokeOptions(parent=parent)
    )
    url = pulumi.Output.concat(
        "https://", run_name(name, GATEWAY), "-", project.number, ".", google.region, ".run.app"
    )
    return GatewayIdentity(
        account=account,
        member=pulumi.Output.concat("serviceAccount:", account.email),
        issuer=f"https://{domain}/{GATEWAY}",
        url=url,
        jwks_url=pulumi.Output.concat(url, JWKS_PATH),
    )


def routes_json(upstreams: list[Upstream]) -> pulumi.Output[str]:
    """GATEWAY_ROUTES: each server's internal run.app URL (its `uri`, so the gateway waits for
    every service), reached with a Google ID token for that URL."""
    ordered = sorted(upstreams, key=lambda u: u.name)

    def render(uris: list[Any]) -> str:
        routes = {
            upstream.name: {
                "upstream": uri,
                "path": upstream.path,
                "scopes": list(upstream.scopes),
                "sticky": upstream.sticky,
                # Cloud Run pins a session to an instance by its session-affinity cookie, which the
                # gateway keeps per Mcp-Session-Id and replays (clients never see it).
                "discovery": "cookie" if upstream.sticky else "none",
                "auth": "google-id-token",
            }
            for upstream, uri in zip(ordered, uris, strict=True)
        }
        return json.dumps(routes, sort_keys=True, separators=(",", ":"))

    return pulumi.Output.all(*(u.service.uri for u in ordered)).apply(render)


@dataclass(frozen=True)
class GatewayPlatform:
    """What the gateway takes from its platform."""

    name: str
    domain: str
    auth_issuer: str
    auth_audience: str | None
    google: GcpSpec
    registry: Registry
    network: Network
    redis: gcp.redis.Instance | None
    redis_ca: pulumi.Output[str] | None
    apis: list[gcp.projects.Service]
    production: bool
    sentry_dsn: pulumi.Input[str] | None = None  # a Pulumi secret
    telemetry: Telemetry | None = None  # None: no collector sidecar


def gateway_service(
    platform: GatewayPlatform,
    spec: GatewaySpec,
    identity: GatewayIdentity,
    upstreams: list[Upstream],
    parent: pulumi.Resource,
) -> gcp.cloudrunv2.Service:
    name, google = platform.name, platform.google
    image = McpImage(
        f"{name}-{GATEWAY}-image",
        None,
        RegistryAccess(
            repository_url=pulumi.Output.concat(platform.registry.url, f"/{GATEWAY}"),
            server=platform.registry.server,
            username=platform.registry.username,
            password=platform.registry.password,
        ),
        pulumi.ResourceOptions(parent=parent, depends_on=[platform.registry.repository]),
        context=CONTEXT,
        dockerfile=DOCKERFILE,
    )
    secrets = _secrets(platform, identity, parent)
    plain = _plain_env(platform, spec, identity, upstreams)
    cpu, memory = cloud_run_size(spec.cpu, spec.memory)
    needs: list[pulumi.Resource] = [*platform.apis, platform.network.subnet, platform.network.nat]
    needs += [r for s in secrets for r in (s.version, s.grant)]
    needs += [r for u in upstreams for r in (u.service, u.invoker)]
    if platform.redis is not None:
        needs.append(platform.redis)
    t = platform.telemetry
    metrics = MetricsUse(port=spec.port)
    collector = collector_container(t, GATEWAY, metrics, cpu_idle=False) if t is not None else None
    if t is not None and collector is not None:
        plain.update(tracing_env(SIDECAR_OTLP, t.sample_ratio, "mcp-gateway"))
        grants = collector_grants(
            f"{name}-{GATEWAY}-collector", t, google.project, identity.member, metrics, parent
        )
        needs += grants
    service = gcp.cloudrunv2.Service(
        f"{name}-{GATEWAY}",
        project=google.project,
        location=google.region,
        name=run_name(name, GATEWAY),
        # The load balancer (public) and callers in the VPC (servers fetching its JWKS).
        ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        deletion_protection=platform.production,
        template=gcp.cloudrunv2.ServiceTemplateArgs(
            service_account=identity.account.email,
            timeout=REQUEST_TIMEOUT,
            max_instance_request_concurrency=CONCURRENCY,
            # A client's requests keep reaching one gateway instance (its caches, its streams).
            session_affinity=True,
            scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(
                min_instance_count=spec.min_replicas, max_instance_count=spec.max_replicas
            ),
            vpc_access=vpc_egress(platform.network),
            containers=[
                gcp.cloudrunv2.ServiceTemplateContainerArgs(
                    name="gateway",  # beside a collector sidecar: logs and errors name the container
                    image=image.ref,
                    ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=spec.port),
                    resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                        # Always-allocated CPU: limiter sync with Redis and key refreshes run
                        # between requests.
                        limits={"cpu": cpu, "memory": memory},
                        cpu_idle=False,
                        startup_cpu_boost=True,
                    ),
                    envs=container_envs(plain, secrets),
                    startup_probe=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                        http_get=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(
                            path="/ready", port=spec.port
                        ),
                        period_seconds=2,
                        failure_threshold=30,
                        timeout_seconds=2,
                    ),
                    liveness_probe=gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
                        http_get=gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(
                            path="/health", port=spec.port
                        ),
                        period_seconds=15,
                        failure_threshold=3,
                        timeout_seconds=3,
                    ),
                ),
                *([collector] if collector is not None else []),
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=needs),
    )
    # Anyone may invoke it, but ingress admits only the load balancer (with Cloud Armor) and the
    # VPC; clients authenticate with OAuth at the gateway itself, not with Google identities.
    gcp.cloudrunv2.ServiceIamMember(
        f"{name}-{GATEWAY}-invoker",
        project=google.project,
        location=google.region,
        name=service.name,
        role="roles/run.invoker",
        member="allUsers",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return service


def _secrets(
    platform: GatewayPlatform, identity: GatewayIdentity, parent: pulumi.Resource
) -> list[StoredSecret]:
    """The signing key (EC P-256, one for every replica), and the Redis URL when there is Redis."""
    name = platform.name
    key = tls.PrivateKey(
        f"{name}-{GATEWAY}-signing-key",
        algorithm="ECDSA",
        ecdsa_curve="P256",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    values: dict[str, pulumi.Input[str]] = {"GATEWAY_SIGNING_KEY": key.private_key_pem_pkcs8}
    if platform.redis is not None:
        values["REDIS_URL"] = redis_url(platform.redis)
    if platform.sentry_dsn is not None:
        values["SENTRY_DSN"] = platform.sentry_dsn
    return [
        store_secret(
            f"{name}-{GATEWAY}",
            (name, GATEWAY),
            env,
            value,
            identity.member,
            platform.google,
            platform.apis,
            parent,
        )
        for env, value in sorted(values.items())
    ]


def _plain_env(
    platform: GatewayPlatform, spec: GatewaySpec, identity: GatewayIdentity, upstreams: list[Upstream]
) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = {
        "GATEWAY_PUBLIC_URL": f"https://{platform.domain}",
        "GATEWAY_ROUTES": routes_json(upstreams),
        "GATEWAY_ISSUER": identity.issuer,
        "GATEWAY_PORT": str(spec.port),
        "AUTH_ISSUER": platform.auth_issuer,
        "RATE_LIMIT_PER_MINUTE": str(spec.rate_limit_per_minute),
    }
    if platform.auth_audience:
        env["AUTH_AUDIENCE"] = platform.auth_audience
    if spec.allowed_origins:
        env["GATEWAY_ALLOWED_ORIGINS"] = ",".join(spec.allowed_origins)
    if platform.redis is not None and platform.redis_ca is not None:
        env["REDIS_KEY_PREFIX"] = f"{GATEWAY}:"
        env["REDIS_CA_CERT"] = platform.redis_ca
    return env
