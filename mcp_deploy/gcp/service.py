"""`target: gcp-cloudrun`: the MCP server on Cloud Run behind a global HTTPS load balancer with
Cloud Armor, Cloud SQL PostgreSQL, Memorystore Redis, Secret Manager, Cloud Storage backups on a
schedule and Cloud Monitoring alerts."""

from __future__ import annotations

import pulumi

from mcp_deploy.args import McpServiceArgs
from mcp_deploy.gcp.alerts import alerts
from mcp_deploy.gcp.apis import enable_apis
from mcp_deploy.gcp.backups import backups
from mcp_deploy.gcp.data import data_tier
from mcp_deploy.gcp.edge import edge
from mcp_deploy.gcp.network import network
from mcp_deploy.gcp.registry import registry
from mcp_deploy.gcp.run import cloud_run
from mcp_deploy.gcp.secrets import server_secrets
from mcp_deploy.image import McpImage
from mcp_deploy.secret_values import secret_values


class CloudRunMcpService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    mcp_endpoint: pulumi.Output[str]
    image: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    load_balancer_ip: pulumi.Output[str]
    restore_command: pulumi.Output[str]

    def __init__(self, name: str, args: McpServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mcp-deploy:gcp:McpService", name, None, opts)
        assert args.gcp is not None, "config.read_provider_settings supplies gcp:project and gcp:region"
        google = args.gcp
        apis = enable_apis(name, google.project, self)
        access = (
            None if args.image is not None else registry(name, google, args.registry_keep_images, apis, self)
        )
        image = McpImage(f"{name}-image", args.image, access, pulumi.ResourceOptions(parent=self))
        net = network(name, google, apis, self)
        values = secret_values(name, args.secrets, self)
        data = data_tier(name, google, args.postgres, args.redis, net, values.postgres_password, apis, self)
        secrets = server_secrets(name, google, values, data, apis, self)
        run = cloud_run(name, args, google, image.ref, net, data, secrets, apis, self)
        front = edge(name, args.domain, google, run, apis, self)
        stored = backups(
            name,
            args.backup,
            google,
            image.ref,
            net,
            secrets,
            args.postgres.storage_gb,
            args.production,
            apis,
            self,
        )
        alerts(name, args, google, run, data, apis, self)

        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.mcp_endpoint = pulumi.Output.from_input(args.mcp_url)
        self.image = image.ref
        self.database = data.postgres.name
        self.cache = data.redis.id
        self.backup_bucket = stored.bucket.name
        self.load_balancer_ip = front.address.address
        self.restore_command = stored.restore_command
        self.register_outputs({name: getattr(self, name) for name in type(self).__annotations__})
