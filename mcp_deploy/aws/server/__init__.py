"""`AwsServer`: one MCP server on the platform's cluster, private, behind the platform's gateway.

Its image (built into an ECR repository of its own, or prebuilt and pinned to its digest), its
secrets, a database and role of its own on the shared instance when it asks, its task and
service, its private address and its alarms; with a backed-up database, its scheduled dump. It
registers its route with the platform, whose finish() builds the gateway.
"""

from pathlib import Path

import pulumi

from mcp_deploy.aws.images import built_image, ecr_access, ecr_repository_arn, repository
from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.platform.gateway import Upstream
from mcp_deploy.aws.secret import StoredSecret, stored_secret
from mcp_deploy.aws.server.alarms import server_alarms
from mcp_deploy.aws.server.backup import backup
from mcp_deploy.aws.server.database import database_url
from mcp_deploy.aws.server.routing import routing
from mcp_deploy.aws.server.secrets import server_secrets
from mcp_deploy.aws.server.slo import slo_alarms
from mcp_deploy.aws.server.workload import Startup, execution_role, log_group, workload
from mcp_deploy.bridge_image import stdio_server_image
from mcp_deploy.fargate import fargate_size_problems
from mcp_deploy.image import pinned
from mcp_deploy.server_args import ServerArgs
from mcp_deploy.server_spec import ServerArgsError, ServerSpec, resolve_server, with_platform_secrets


class AwsServer(pulumi.ComponentResource):
    """One MCP server on an AwsPlatform: a private Fargate service the gateway serves at
    /<name>/mcp, its secrets in Secrets Manager, its own database and role when it asks for one."""

    url: pulumi.Output[str]
    image: pulumi.Output[str]
    restore_command: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServerArgs, platform: AwsPlatform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = with_platform_secrets(resolve_server(name, args), platform.spec.sentry_dsn)
        _check(spec, platform)
        super().__init__("mcp-deploy:aws:Server", name, None, opts)
        image, repositories = self._image(spec, platform)
        if platform.backups is not None and spec.postgres is not None:
            repositories.append(platform.backups.repository_arn)  # the provisioning step's image

        url = database_url(spec, platform, self) if spec.postgres is not None else None
        secrets = server_secrets(spec, platform, url, self)
        ready: list[pulumi.Resource] = [*platform.network.egress]
        if spec.postgres is not None and platform.postgres is not None:
            ready += [platform.postgres.instance, platform.postgres.admin_url.version]
        if spec.redis is not None and platform.redis is not None:
            ready.append(platform.redis.group)
        route = routing(spec, platform, self)
        startup = Startup(
            secrets=secrets,
            pull_credentials=self._pull_credentials(spec, platform),
            ready=[*ready, *route.network_rules],
        )
        logs = log_group(spec, platform, self)
        backed_up = spec.postgres is not None and spec.postgres.backup and platform.backups is not None
        log_groups = [logs, platform.backups.log_group] if backed_up and platform.backups else [logs]
        role = execution_role(spec, platform, log_groups, startup, repositories, self)
        work = workload(spec, platform, image, logs, role, startup, route, self)
        platform.register(
            Upstream(spec=spec, host=route.host, discovery=route.discovery, service=work.service)
        )
        server_alarms(spec, platform, work, self)
        slo_alarms(spec, platform, self)

        self.restore_command = pulumi.Output.from_input("")
        if backed_up and spec.postgres is not None and platform.backups is not None:
            self.restore_command = backup(
                spec,
                platform,
                secrets[spec.postgres.url_env],
                role,
                [*platform.network.egress, platform.postgres.instance, *platform.backups.rules]
                if platform.postgres
                else [],
                self,
            )
        self.url = pulumi.Output.from_input(spec.public_url(platform.spec.domain))
        self.image = image
        self.register_outputs({key: getattr(self, key) for key in type(self).__annotations__})

    def _image(
        self, spec: ServerSpec, platform: AwsPlatform
    ) -> tuple[pulumi.Output[str], list[pulumi.Input[str]]]:
        """The image by digest, and the ECR repositories the tasks may pull from."""
        if spec.build is not None or spec.package is not None:
            repo = repository(
                f"{spec.name}-server",
                (platform.prefix, spec.name),
                platform.spec.registry_keep_images,
                platform.spec.production,
                self,
            )
            if spec.package is not None:
                opts = pulumi.ResourceOptions(parent=self)
                access = ecr_access(repo, self)
                image = stdio_server_image(
                    f"{spec.name}-server", spec.package, platform.bridge_base(), access, opts
                )
                return image, [repo.arn]
            assert spec.build is not None
            return built_image(f"{spec.name}-server", Path.cwd() / spec.build, repo, self), [repo.arn]
        assert spec.image is not None
        found = ecr_repository_arn(spec.image)
        return pinned(spec.image, self), [found] if found else []

    def _pull_credentials(self, spec: ServerSpec, platform: AwsPlatform) -> StoredSecret | None:
        if spec.repository_credentials is None:
            return None
        return stored_secret(
            f"{spec.name}-pull-credentials",
            (platform.prefix, spec.name, "pull-credentials"),
            f"Registry credentials to pull MCP server {spec.name}'s image",
            spec.repository_credentials,
            platform.spec.production,
            self,
        )


def _check(spec: ServerSpec, platform: AwsPlatform) -> None:
    """What this platform cannot give the server, refused before anything is registered."""
    problems: list[str] = []
    if spec.postgres is not None and platform.postgres is None:
        problems.append("uses postgres, but the platform has none (give the platform `postgres`)")
    if spec.redis is not None and platform.redis is None:
        problems.append("uses redis, but the platform has none (give the platform `redis`)")
    if spec.image_pull_secret is not None:
        problems.append("image_pull_secret is for kubernetes; on aws-ecs give repository_credentials")
    if spec.build is not None and not (Path.cwd() / spec.build).is_dir():
        problems.append(f"build context {spec.build!r} is not a folder under {Path.cwd()}")
    if spec.image is not None and spec.repository_credentials is not None and ecr_repository_arn(spec.image):
        problems.append(
            "an ECR image is pulled with the execution role; repository_credentials is for other registries"
        )
    problems += fargate_size_problems(spec.cpu, spec.memory, "cpu", "memory")
    if problems:
        raise ServerArgsError(f"server {spec.name!r}: " + "; ".join(problems))
