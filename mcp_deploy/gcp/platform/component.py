"""`GcpPlatform`: what every server on gcp-cloudrun shares. APIs, a VPC with private services
access and Cloud NAT, Cloud SQL and Memorystore when asked for, an Artifact Registry repository,
the global HTTPS load balancer with Cloud Armor, the gateway, the backup bucket and schedule, and
alerting.

Servers add themselves (as gateway upstreams) and their databases to it; `finish()`, called once
after the last server, makes what needs all of them: the gateway service (GATEWAY_ROUTES names
every server), the load balancer's route to it, and the backup jobs (one env var per database)."""

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.bridge_image import bridge_base_image
from mcp_deploy.gcp.platform.alerts import backup_alerts, channel, postgres_alerts, redis_alerts
from mcp_deploy.gcp.platform.apis import enable_apis
from mcp_deploy.gcp.platform.backups import BackupSource, BackupStore, backup_jobs, backup_store
from mcp_deploy.gcp.platform.collector import telemetry
from mcp_deploy.gcp.platform.dashboard import monitoring_dashboard
from mcp_deploy.gcp.platform.data import postgres_instance, redis_ca_bundle, redis_instance
from mcp_deploy.gcp.platform.drill import restore_drill
from mcp_deploy.gcp.platform.edge import edge, gateway_backend, https_front
from mcp_deploy.gcp.platform.gateway import (
    GATEWAY,
    GatewayPlatform,
    Upstream,
    gateway_identity,
    gateway_service,
)
from mcp_deploy.gcp.platform.network import network
from mcp_deploy.gcp.platform.registry import registry, registry_access
from mcp_deploy.gcp.platform.webhook import webhook_channel
from mcp_deploy.names import physical_name
from mcp_deploy.platform_args import PlatformArgs
from mcp_deploy.platform_spec import PlatformArgsError, resolve_platform


class GcpPlatform(pulumi.ComponentResource):
    """gcp-cloudrun: VPC, global HTTPS load balancer with Cloud Armor in front of the gateway,
    Artifact Registry, and Cloud SQL, Memorystore, backups and alerts when servers need them; call
    finish() after the servers."""

    url: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    load_balancer_ip: pulumi.Output[str]
    restore_command: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = resolve_platform(args)
        google = spec.gcp
        if not google.project or not google.region:
            raise PlatformArgsError("gcp platform: gcp.project and gcp.region are required")
        super().__init__("mcp-deploy:gcp:Platform", name, None, opts)
        # Handles servers use: plain attributes, not outputs.
        self.prefix = name
        self.spec = spec
        self.google = google
        self.apis = enable_apis(name, google.project, self)
        self.network = network(name, google, self.apis, self)
        self.registry = registry(name, google, spec.registry_keep_images, self.apis, self)
        self.edge = edge(name, spec.domain, spec.gateway.edge_requests_per_minute, google, self.apis, self)
        self.gateway = gateway_identity(name, spec.domain, google, self.apis, self)
        self.channels = channel(name, spec.alert_email, google, self.apis, self)
        webhook = webhook_channel(name, spec.alert_webhook_url, google, self.apis, self)
        if webhook is not None:
            self.channels.append(webhook.id)
        self.telemetry = telemetry(name, physical_name(name), google.project, spec.tracing_sample_ratio, self)
        self.postgres: gcp.sql.DatabaseInstance | None = None
        self.redis: gcp.redis.Instance | None = None
        self.redis_ca: pulumi.Output[str] | None = None
        self.backups: BackupStore | None = None
        if spec.postgres is not None:
            self.postgres = postgres_instance(name, google, spec.postgres, self.network, self.apis, self)
            postgres_alerts(name, google, self.postgres, self.channels, self)
            self.backups = backup_store(name, spec.backup, google, spec.production, self.apis, self)
        if spec.redis is not None:
            self.redis = redis_instance(name, google, spec.redis, self.network, self.apis, self)
            self.redis_ca = redis_ca_bundle(self.redis)
            redis_alerts(name, google, self.redis, self.channels, self)
        self._upstreams: list[Upstream] = []
        self._backup_sources: list[BackupSource] = []
        self._finished = False
        self._bridge_base: pulumi.Output[str] | None = None

        self.url = pulumi.Output.from_input(f"https://{spec.domain}")
        self.database = self.postgres.name if self.postgres is not None else pulumi.Output.from_input("")
        self.cache = self.redis.id if self.redis is not None else pulumi.Output.from_input("")
        self.backup_bucket = (
            self.backups.bucket.name if self.backups is not None else pulumi.Output.from_input("")
        )
        self.load_balancer_ip = self.edge.address.address
        self.restore_command = pulumi.Output.from_input("")

    def bridge_base(self) -> pulumi.Output[str]:
        """The bridge base image stdio servers are built FROM (made with the first of them)."""
        if self._bridge_base is None:
            opts = pulumi.ResourceOptions(parent=self, depends_on=[self.registry.repository])
            access = registry_access(self.registry, "bridge")
            self._bridge_base = bridge_base_image(f"{self.prefix}-bridge", access, opts)
        return self._bridge_base

    def add_upstream(self, upstream: Upstream) -> None:
        self._check_open(f"server {upstream.name!r}")
        if upstream.name == GATEWAY:
            raise PlatformArgsError(f"gcp platform {self.prefix}: {GATEWAY!r} is the gateway's own name")
        if any(known.name == upstream.name for known in self._upstreams):
            raise PlatformArgsError(f"gcp platform {self.prefix}: two servers named {upstream.name!r}")
        self._upstreams.append(upstream)

    def add_backup(self, source: BackupSource) -> None:
        self._check_open(source.env)
        self._backup_sources.append(source)

    def finish(self) -> None:
        """Make the gateway, the load balancer's route to it and the backup jobs from every server
        added; call once, after the last server. Servers added later would not be routed, so adding
        one then is refused."""
        if self._finished:
            return
        if not self._upstreams:
            raise PlatformArgsError(f"gcp platform {self.prefix}: finish() needs at least one server")
        self._finished = True
        name, spec, google = self.prefix, self.spec, self.google
        gateway = gateway_service(
            GatewayPlatform(
                name=name,
                domain=spec.domain,
                auth_issuer=spec.auth_issuer,
                auth_audience=spec.auth_audience,
                google=google,
                registry=self.registry,
                network=self.network,
                redis=self.redis,
                redis_ca=self.redis_ca,
                apis=self.apis,
                production=spec.production,
                telemetry=self.telemetry,
                sentry_dsn=spec.sentry_dsn,
            ),
            spec.gateway,
            self.gateway,
            self._upstreams,
            self,
        )
        https_front(
            name, google, self.edge, gateway_backend(name, google, gateway, self.edge.armor, self), self
        )
        backup_job: pulumi.Output[str] | None = None
        if self._backup_sources and self.backups is not None and spec.postgres is not None:
            jobs = backup_jobs(
                name,
                spec.backup,
                google,
                self.backups,
                self._backup_sources,
                spec.postgres.storage_gb,
                self.network,
                self.registry,
                spec.production,
                self.apis,
                self,
            )
            backup_alerts(name, spec.backup.schedule, google, jobs.backup, self.channels, self)
            restore_drill(name, spec.backup, google, jobs.drill, self.channels, self.apis, self)
            backup_job = jobs.backup.name
            self.restore_command = jobs.restore_command
        monitoring_dashboard(
            name,
            google,
            self.telemetry.platform,
            [gateway.name, *(u.service.name for u in self._upstreams)],
            backup_job,
            self.apis,
            self,
        )
        self.register_outputs({key: getattr(self, key) for key in type(self).__annotations__})

    def _check_open(self, what: str) -> None:
        if self._finished:
            raise PlatformArgsError(
                f"gcp platform {self.prefix}: {what} added after finish(); add every server first"
            )
