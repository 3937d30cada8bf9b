"""`K8sServer`: one MCP server on a `K8sPlatform`, private behind the platform's gateway.

The server has a ClusterIP Service (and a headless one when its sessions are sticky) that only
the gateway's pods may reach; it registers with the platform, whose gateway routes
`https://<domain>/<name><path>` to it. Servers that do auth (our reference server) trust the
gateway's tokens: issuer GATEWAY_ISSUER, keys from the gateway's private JWKS URL.

Every object is named `<stack>-<platform>-<server>` (names.physical_name), except the Secrets,
which the provider names (see secrets.py). The Deployment waits for what its pods read at
start: its Secret, its database role and database, the Redis pods, its NetworkPolicy, and the
gateway's Service when it fetches the gateway's keys.
"""

import pulumi

from mcp_deploy.bridge_image import stdio_server_image
from mcp_deploy.k8s import netpol
from mcp_deploy.k8s.images import built_image, prebuilt_image, registry_access
from mcp_deploy.k8s.meta import POSTGRES_CLIENT
from mcp_deploy.k8s.platform import K8sPlatform
from mcp_deploy.k8s.platform.upstreams import Upstream
from mcp_deploy.k8s.pods import postgres_ca, rollout_annotation
from mcp_deploy.k8s.scrape import service_monitor
from mcp_deploy.k8s.server.backup import backup_entry
from mcp_deploy.k8s.server.database import database
from mcp_deploy.k8s.server.monitoring import server_monitoring
from mcp_deploy.k8s.server.policy import server_policy
from mcp_deploy.k8s.server.secrets import env_secret
from mcp_deploy.k8s.server.slo import slo_rules
from mcp_deploy.k8s.server.workload import PodInputs, workload
from mcp_deploy.names import physical_name
from mcp_deploy.server_args import ServerArgs
from mcp_deploy.server_spec import ServerArgsError, ServerSpec, resolve_server, with_platform_secrets
from mcp_deploy.tracing import tracing_env


class K8sServer(pulumi.ComponentResource):
    """One MCP server on a K8sPlatform, reached only through its gateway: Deployment, ClusterIP
    Service (and a headless one when sticky), HPA, PDB, NetworkPolicy; its own database and
    role when it asks for one."""

    url: pulumi.Output[str]
    image: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ServerArgs,
        platform: K8sPlatform,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mcp-deploy:k8s:Server", name, None, opts)
        spec = with_platform_secrets(resolve_server(name, args), platform.spec.sentry_dsn)
        _check(spec, platform)
        p = platform.spec
        namespace = platform.namespace_name
        instance = physical_name(platform.instance, name, stack="")
        in_namespace: list[pulumi.Resource] = [platform.namespace_resource]

        image = self._image(spec, platform)
        computed: dict[str, pulumi.Output[str]] = {}
        waits: list[pulumi.Resource] = []
        pod_labels: dict[str, str] = {}
        volumes, mounts = [], []
        if spec.postgres is not None and platform.postgres is not None:
            db = database(name, instance, namespace, platform.postgres, in_namespace, self)
            computed[spec.postgres.url_env] = db.url
            waits += [*db.resources, *platform.postgres.resources]
            pod_labels[POSTGRES_CLIENT] = platform.instance
            if platform.postgres.cluster_name is not None:
                volume, mount = postgres_ca(platform.postgres.ca_secret)
                volumes.append(volume)
                mounts.append(mount)
            if spec.postgres.backup and platform.backups is not None:
                backup_entry(name, namespace, platform.backups, db.url, self)
        if spec.redis is not None and platform.redis is not None:
            computed[spec.redis.url_env] = platform.redis.url
            waits += platform.redis.resources
            pod_labels.update(platform.redis.client_label)
        secret = env_secret(spec, instance, namespace, computed, in_namespace, self)
        # Admits Prometheus's namespace: a plain Prometheus scrapes by the pod annotations too.
        scrapers = p.k8s.prometheus_namespace if spec.metrics is not None else None
        fetches_jwks = spec.is_reference
        if fetches_jwks:
            waits.append(platform.gateway.service)
        policy = server_policy(
            spec,
            instance,
            namespace,
            platform.gateway,
            fetches_jwks,
            scrapers,
            platform.postgres,
            platform.redis,
            netpol.otlp(p.k8s.otlp_endpoint, p.tracing_sample_ratio),
            in_namespace,
            self,
        )
        pods = workload(
            spec,
            instance,
            namespace,
            PodInputs(
                image=image,
                env=_plain_env(spec, platform, fetches_jwks),
                secret_name=secret.metadata.name,
                rollout=rollout_annotation(secret),
                pod_labels=pod_labels,
                volumes=volumes,
                mounts=mounts,
            ),
            [*in_namespace, secret, policy, *waits],
            self,
        )
        platform.add_server(
            Upstream(
                name=name,
                instance=instance,
                host=pods.upstream_host,
                port=spec.port,
                path=spec.path,
                scopes=spec.scopes,
                sticky=spec.sticky,
                fetches_jwks=fetches_jwks,
                resources=pods.resources,
            )
        )
        if p.k8s.prometheus_operator and spec.is_reference:
            server_monitoring(
                spec, instance, namespace, p.domain, p.k8s.prometheus_release, [pods.service], self
            )
        elif p.k8s.prometheus_operator and spec.metrics is not None:
            service_monitor(
                name, instance, namespace, platform.instance, spec.metrics, spec.port,
                p.k8s.prometheus_release, [pods.service], self,
            )  # fmt: skip

        if p.k8s.prometheus_operator:
            slo_rules(
                name, spec.slo, instance, namespace, platform.gateway.instance, spec.public_url(p.domain),
                p.k8s.prometheus_release, in_namespace, self,
            )  # fmt: skip
        self.url = pulumi.Output.from_input(spec.public_url(p.domain))
        self.image = image
        self.register_outputs({"url": self.url, "image": self.image})

    def _image(self, spec: ServerSpec, platform: K8sPlatform) -> pulumi.Output[str]:
        if spec.image is not None:
            return prebuilt_image(spec.image, self)
        registry = platform.spec.k8s.registry
        assert registry is not None  # _check
        if spec.package is not None:
            access = registry_access(registry)
            opts = pulumi.ResourceOptions(parent=self)
            return stdio_server_image(
                f"{spec.name}-image", spec.package, platform.bridge_base(), access, opts
            )
        assert spec.build is not None
        return built_image(f"{spec.name}-image", spec.build, registry, self)


def _plain_env(spec: ServerSpec, platform: K8sPlatform, fetches_jwks: bool) -> dict[str, str]:
    """Behind the gateway a server sees the gateway's tokens: `${authIssuer}` is the gateway's
    issuer and `${authAudience}` the server's own public URL, the audience the gateway signs
    for. Our server also gets the gateway's private JWKS URL (plain http inside the cluster);
    an `env` entry of the server's own still wins."""
    env = spec.plain_env(platform.spec.domain, platform.gateway_issuer, None)
    p = platform.spec
    env = {**tracing_env(p.k8s.otlp_endpoint, p.tracing_sample_ratio, f"mcp-{spec.name}"), **env}
    if fetches_jwks:
        trust = {"AUTH_JWKS_URL": platform.gateway.jwks_url, "AUTH_JWKS_ALLOW_HTTP": "true"}
        env = dict(sorted({**trust, **env}.items()))
    return env


def _check(spec: ServerSpec, platform: K8sPlatform) -> None:
    problems = []
    if spec.build is not None and not platform.spec.k8s.registry:
        problems.append("build needs k8s.registry on the platform to push the image to")
    if spec.package is not None and not platform.spec.k8s.registry:
        problems.append("package needs k8s.registry on the platform to push the bridge image to")
    if spec.postgres is not None and platform.postgres is None:
        problems.append("postgres needs a platform with postgres")
    if spec.redis is not None and platform.redis is None:
        problems.append("redis needs a platform with redis")
    if spec.user == 0:
        problems.append("user 0 (root) cannot run in the namespace's restricted Pod Security level")
    if problems:
        raise ServerArgsError(f"server {spec.name!r}: " + "; ".join(problems))
