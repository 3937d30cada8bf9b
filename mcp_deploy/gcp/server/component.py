"""`GcpServer`: one MCP server on the platform. Its image, its own service account, its secrets
in Secret Manager, a database and role of its own when it uses Postgres, its internal-only Cloud
Run service, and its place among the gateway's routes (/<name><path>)."""

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.backup_contract import database_url_env
from mcp_deploy.gcp.names import account_id
from mcp_deploy.gcp.platform.backups import BackupSource
from mcp_deploy.gcp.platform.collector import collector_container, collector_grants
from mcp_deploy.gcp.platform.component import GcpPlatform
from mcp_deploy.gcp.platform.data import redis_url
from mcp_deploy.gcp.secrets import StoredSecret, generated, grant_read, store_secret
from mcp_deploy.gcp.server.alerts import server_alerts
from mcp_deploy.gcp.server.data import database
from mcp_deploy.gcp.server.image import check_pullable, server_image
from mcp_deploy.gcp.server.slo import slo_alerts
from mcp_deploy.gcp.server.upstream import upstream
from mcp_deploy.gcp.server.workload import Workload, cloud_run_service
from mcp_deploy.server_args import ServerArgs
from mcp_deploy.server_spec import ServerArgsError, ServerSpec, resolve_server, with_platform_secrets
from mcp_deploy.tracing import SIDECAR_OTLP, tracing_env

# The server's Redis client trusts Memorystore's CAs from this env var (PEM, public data).
REDIS_CA_ENV = "REDIS_CA_CERT"
# Where our server fetches the keys of its token issuer (the gateway).
JWKS_ENV = "AUTH_JWKS_URL"


class GcpServer(pulumi.ComponentResource):
    """One MCP server on a GcpPlatform: a private Cloud Run service the gateway routes /<name>/mcp
    to, its secrets in Secret Manager, its own database and user when it asks for one."""

    url: pulumi.Output[str]
    image: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServerArgs, platform: GcpPlatform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = with_platform_secrets(resolve_server(name, args), platform.spec.sentry_dsn)
        _check_platform(spec, platform)
        super().__init__("mcp-deploy:gcp:Server", name, None, opts)
        google, prefix = platform.google, platform.prefix
        image = server_image(name, spec, platform.registry, platform.bridge_base, self)
        account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=google.project,
            account_id=account_id(prefix, name, "run"),
            display_name=f"mcp-deploy server {name} (Cloud Run)",
            opts=pulumi.ResourceOptions(parent=self, depends_on=platform.apis),
        )
        member = pulumi.Output.concat("serviceAccount:", account.email)
        needs: list[pulumi.Resource] = [
            *platform.apis,
            platform.network.peering,
            platform.network.subnet,
            platform.network.nat,
        ]
        values: dict[str, pulumi.Input[str]] = dict(spec.secrets)
        values.update({env: generated(name, env, self) for env in spec.generated_secrets})
        plain = _plain_env(spec, platform)
        created: list[pulumi.Resource] = []
        if spec.postgres is not None and platform.postgres is not None:
            created, url = database(name, name, google, platform.postgres, self)
            needs += [platform.postgres, *created]
            values[spec.postgres.url_env] = url
        if spec.redis is not None and platform.redis is not None and platform.redis_ca is not None:
            needs.append(platform.redis)
            values[spec.redis.url_env] = redis_url(platform.redis)
            plain.setdefault(REDIS_CA_ENV, platform.redis_ca)
        stored = [
            store_secret(name, (prefix, name), env, value, member, google, platform.apis, self)
            for env, value in sorted(values.items())
        ]
        for secret in stored:
            needs += [secret.version, secret.grant]
        if spec.postgres is not None and spec.postgres.backup and platform.backups is not None:
            platform.add_backup(self._backup_source(name, spec, stored, created, platform))
        t = platform.telemetry
        collector = collector_container(t, name, spec.metrics, cpu_idle=True)  # as the server (workload.py)
        if collector is not None:
            plain.update(tracing_env(SIDECAR_OTLP, t.sample_ratio, f"mcp-{name}"))
            needs += collector_grants(f"{name}-collector", t, google.project, member, spec.metrics, self)
        service = cloud_run_service(
            name,
            prefix,
            Workload(
                spec=spec,
                image=image,
                account_email=account.email,
                plain_env=plain,
                secrets=stored,
                needs=needs,
                collector=collector,
            ),
            google,
            platform.network,
            platform.spec.production,
            self,
        )
        platform.add_upstream(upstream(name, spec, service, platform.gateway, google, self))
        server_alerts(name, spec, service, google, platform.channels, self)
        slo_alerts(name, prefix, spec, service, google, platform.channels, platform.apis, self)

        self.url = pulumi.Output.from_input(spec.public_url(platform.spec.domain))
        self.image = image
        self.register_outputs({"url": self.url, "image": self.image})

    def _backup_source(
        self,
        name: str,
        spec: ServerSpec,
        stored: list[StoredSecret],
        created: list[pulumi.Resource],
        platform: GcpPlatform,
    ) -> BackupSource:
        """Let the platform's dump and restore jobs read this server's database URL."""
        assert spec.postgres is not None
        assert platform.backups is not None
        url = next(s for s in stored if s.env == spec.postgres.url_env)
        grants = tuple(
            grant_read(
                f"{name}-{label}-reads-database-url",
                url.secret,
                pulumi.Output.concat("serviceAccount:", account.email),
                self,
            )
            for label, account in (("backup", platform.backups.writer), ("restore", platform.backups.reader))
        )
        return BackupSource(
            env=database_url_env(name),
            secret=url.secret,
            version=url.version,
            grants=grants,
            database=tuple(created),
        )


def _plain_env(spec: ServerSpec, platform: GcpPlatform) -> dict[str, pulumi.Input[str]]:
    """Behind the gateway a server sees the gateway's tokens, not the client's: the issuer is the
    gateway, the audience the server's own public URL, and our server fetches the gateway's keys
    from its internal URL (https, so no AUTH_JWKS_ALLOW_HTTP)."""
    gateway = platform.gateway
    plain: dict[str, pulumi.Input[str]] = dict(spec.plain_env(platform.spec.domain, gateway.issuer, None))
    if spec.is_reference:
        plain.setdefault(JWKS_ENV, gateway.jwks_url)
    return plain


def _check_platform(spec: ServerSpec, platform: GcpPlatform) -> None:
    """Refuse, before registering anything, what this platform cannot give the server."""
    check_pullable(spec)

    missing = [
        kind
        for kind, wanted, present in (
            ("postgres", spec.postgres is not None, platform.postgres is not None),
            ("redis", spec.redis is not None, platform.redis is not None),
        )
        if wanted and not present
    ]
    if missing:
        raise ServerArgsError(
            f"server {spec.name!r} uses {' and '.join(missing)}, but platform {platform.prefix!r} has none: "
            f"give the platform {' and '.join(missing)}"
        )
