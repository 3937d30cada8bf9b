"""`K8sPlatform`: what the servers of one stack share on a Kubernetes cluster.

A namespace; Postgres (CloudNativePG) and Redis only when asked, in the cluster or managed by
URL; the public entry (a Gateway API Gateway by default, or an Ingress) with TLS from
cert-manager, routing everything to the gateway (gateway/), the one public service in front of
the servers; the nightly backup CronJob; a default-deny NetworkPolicy; alerts with the
Prometheus operator.

Every namespaced name starts with the stack and the component name (names.physical_name), so
two stacks can share a namespace and a cluster. Servers register with the platform
(`add_server`); `finish()`, after the last one, builds the gateway with every route, and the one
public route to it.
"""

import pulumi
import pulumi_kubernetes as k8s

from mcp_deploy.bridge_image import bridge_base_image
from mcp_deploy.k8s import netpol
from mcp_deploy.k8s.images import built_image, registry_access
from mcp_deploy.k8s.meta import LABEL_VALUE, NAMESPACE_NAME
from mcp_deploy.k8s.platform.backups import Backups, backups
from mcp_deploy.k8s.platform.dashboard import dashboard_config_map
from mcp_deploy.k8s.platform.entry import GATEWAY_POD_LABEL, Entry, entry
from mcp_deploy.k8s.platform.gateway import (
    GatewayAddress,
    GatewayInputs,
    gateway_address,
    gateway_workload,
    issuer,
)
from mcp_deploy.k8s.platform.monitoring import gateway_monitor, platform_alerts, postgres_monitor
from mcp_deploy.k8s.platform.namespace import namespace
from mcp_deploy.k8s.platform.policies import platform_policies
from mcp_deploy.k8s.platform.postgres import Postgres, postgres
from mcp_deploy.k8s.platform.public_route import public_route
from mcp_deploy.k8s.platform.redis import Redis, redis
from mcp_deploy.k8s.platform.upstreams import Upstream
from mcp_deploy.k8s.platform.webhook import alert_webhook
from mcp_deploy.names import physical_name
from mcp_deploy.platform_args import PlatformArgs
from mcp_deploy.platform_spec import PlatformArgsError, PlatformSpec, resolve_platform

# The gateway's image: gateway/Dockerfile builds from the project root (it shares server/'s code).
GATEWAY_CONTEXT = "."
GATEWAY_DOCKERFILE = "gateway/Dockerfile"


class K8sPlatform(pulumi.ComponentResource):
    """kubernetes: a namespace, the Gateway API entry (or an Ingress) with cert-manager TLS, the
    gateway in front of every server, and CloudNativePG Postgres, Redis and a backup CronJob when
    servers need them."""

    url: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mcp-deploy:k8s:Platform", name, None, opts)
        spec = resolve_platform(args)
        _check(spec)
        k = spec.k8s
        # Handles for K8sServer: plain attributes, outside the component's schema.
        self.spec = spec
        self.instance = physical_name(name)
        # Default <stack>-<platform>: two stacks in one cluster never share a namespace by accident.
        ns = k.namespace or physical_name(name)
        self.namespace_name = ns
        self.namespace_resource = namespace(name, ns, self.instance, self)
        in_namespace: list[pulumi.Resource] = [self.namespace_resource]
        self.postgres: Postgres | None = (
            postgres(
                name,
                spec.postgres,
                ns,
                self.instance,
                k.storage_class,
                k.install_cnpg,
                in_namespace,
                self,
            )
            if spec.postgres is not None
            else None
        )
        self.redis: Redis | None = (
            redis(name, spec.redis, ns, self.instance, k.storage_class, in_namespace, self)
            if spec.redis is not None
            else None
        )
        self.entry: Entry = entry(name, spec.domain, k, ns, self.instance, in_namespace, self)
        self.entry_peers: list[k8s.networking.v1.NetworkPolicyPeerArgs] = _entry_peers(spec, ns, self.entry)
        # The gateway's address now, so servers can be told its JWKS URL; its pods in finish().
        self.gateway: GatewayAddress = gateway_address(
            name, physical_name(name, "gateway"), ns, spec.gateway.port, in_namespace, self
        )
        self.gateway_issuer = issuer(spec.domain)
        self._name = name
        self._in_namespace = in_namespace
        self._upstreams: list[Upstream] = []
        self.backups: Backups | None = (
            backups(name, spec, ns, self.instance, self.postgres, in_namespace, self)
            if self.postgres is not None
            else None
        )
        platform_policies(
            name,
            ns,
            self.instance,
            self.entry_peers,
            acme=k.tls_secret is None,
            postgres=self.postgres,
            redis=self.redis,
            backups=self.backups,
            backup_secret=k.backup_secret,
            scrapers=k.prometheus_namespace if k.prometheus_operator else None,
            depends_on=in_namespace,
            parent=self,
        )
        if k.prometheus_operator:
            platform_alerts(
                name,
                spec.domain,
                ns,
                self.instance,
                self.postgres.cluster_name if self.postgres else None,
                self.redis.name if self.redis and self.redis.in_cluster else None,
                self.backups.instance if self.backups else None,
                spec.backup.schedule,
                k.prometheus_release,
                in_namespace,
                self,
            )
            if self.postgres is not None and self.postgres.cluster is not None:
                postgres_monitor(
                    name, self.postgres, ns, self.instance, k.prometheus_release, in_namespace, self
                )
        alert_webhook(
            name, spec.alert_webhook_url, k.prometheus_operator, ns, self.instance, in_namespace, self
        )

        self.url = pulumi.Output.from_input(f"https://{spec.domain}")
        self.database = pulumi.Output.from_input(_database_id(ns, self.postgres))
        self.cache = pulumi.Output.from_input("" if self.redis is None else f"{ns}/{self.redis.name}")
        self.backup_bucket = pulumi.Output.from_input(self.backups.bucket if self.backups else "")
        self.namespace = pulumi.Output.from_input(ns)
        self._finished = False
        self._bridge_base: pulumi.Output[str] | None = None

    def bridge_base(self) -> pulumi.Output[str]:
        """The bridge base image stdio servers are built FROM (made with the first of them),
        pushed to `k8s.registry` beside the others."""
        if self._bridge_base is None:
            assert self.spec.k8s.registry is not None  # the server's _check
            access = registry_access(self.spec.k8s.registry)
            opts = pulumi.ResourceOptions(parent=self)
            self._bridge_base = bridge_base_image(f"{self._name}-bridge-image", access, opts)
        return self._bridge_base

    def add_server(self, upstream: Upstream) -> None:
        """Called by each K8sServer: the gateway will route `/<name>` to it."""
        if self._finished:
            raise PlatformArgsError(f"server {upstream.name!r}: added after the platform's finish()")
        self._upstreams.append(upstream)

    def finish(self) -> None:
        """Call once, after the last server: the gateway and the public route to it, which
        need every server, are made; the outputs are final then."""
        if self._finished:
            return
        self._finished = True
        name, spec, k = self._name, self.spec, self.spec.k8s
        assert k.registry is not None  # _check
        image = built_image(
            f"{name}-gateway-image", GATEWAY_CONTEXT, k.registry, self, dockerfile=GATEWAY_DOCKERFILE
        )
        found = GatewayInputs(
            image=image,
            upstreams=list(self._upstreams),
            redis=self.redis,
            entry_peers=self.entry_peers,
            scrapers=k.prometheus_namespace,  # its pods carry the prometheus.io annotations on every cluster
        )
        deployment = gateway_workload(name, spec, self.gateway, found, self._in_namespace, self)
        public_route(
            name, spec.domain, k.ingress_class, self.entry, self.gateway, self.gateway.instance,
            [deployment], self,
        )  # fmt: skip
        if k.prometheus_operator:
            gateway_monitor(name, self.gateway, k.prometheus_release, self._in_namespace, self)
        dashboard_config_map(
            name,
            self.namespace_name,
            self.instance,
            self.backups.instance if self.backups else None,
            self._in_namespace,
            self,
        )
        self.register_outputs({key: getattr(self, key) for key in _OUTPUTS})


_OUTPUTS = ("url", "database", "cache", "backup_bucket", "namespace")


def _database_id(namespace: str, found: Postgres | None) -> str:
    if found is None:
        return ""
    return "external" if found.cluster_name is None else f"{namespace}/{found.cluster_name}"


def _entry_peers(spec: PlatformSpec, ns: str, found: Entry) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
    """Who may send public traffic in (to the gateway, and to cert-manager's solver): the entry's
    data-plane pods.

    Where they run beside the Gateway (the default: no `entry_namespace`), only the pods the
    implementation labels with our Gateway's name; otherwise every pod of their namespace.
    """
    k = spec.k8s
    entry_namespace = k.entry_namespace or ns
    if entry_namespace == ns and found.gateway_name is not None:
        return [netpol.pods({GATEWAY_POD_LABEL: found.gateway_name})]
    return [netpol.namespace(entry_namespace)]


def _check(spec: PlatformSpec) -> None:
    k = spec.k8s
    problems = []
    if k.entry == "gateway" and not k.gateway_class:
        problems.append("k8s.gateway_class is required with the Gateway entry (clusters name theirs)")
    if not k.registry:
        problems.append("k8s.registry is required: the gateway's image is built and pushed there")
    if k.prometheus_release and not LABEL_VALUE.fullmatch(k.prometheus_release):
        problems.append(f"k8s.prometheus_release {k.prometheus_release!r} is not a label value")
    if not NAMESPACE_NAME.fullmatch(k.prometheus_namespace):
        problems.append(f"k8s.prometheus_namespace {k.prometheus_namespace!r} is not a namespace name")
    if k.entry == "ingress" and not k.entry_namespace:
        problems.append(
            "k8s.entry_namespace (the ingress controller's namespace) is required with entry ingress"
        )
    if problems:
        raise PlatformArgsError("platform: " + "; ".join(problems))
