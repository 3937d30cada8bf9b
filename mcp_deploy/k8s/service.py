"""`target: kubernetes`: the MCP server on any cluster, with ingress TLS, autoscaling, network
policies, in-cluster (or external) Postgres and Redis, and scheduled backups."""

from __future__ import annotations

from urllib.parse import urlsplit

import pulumi

from mcp_deploy.args import McpServiceArgs
from mcp_deploy.image import McpImage, RegistryAccess
from mcp_deploy.k8s.app import namespace_resource, server
from mcp_deploy.k8s.backups import backup_job
from mcp_deploy.k8s.data import data_tier
from mcp_deploy.k8s.ingress import ingress
from mcp_deploy.k8s.monitoring import monitoring
from mcp_deploy.k8s.policies import network_policies
from mcp_deploy.secret_values import redis_auth_token, secret_values


class KubernetesMcpService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    mcp_endpoint: pulumi.Output[str]
    image: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: McpServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mcp-deploy:k8s:McpService", name, None, opts)
        cluster = args.k8s
        registry = None
        if args.image is None:
            assert cluster.registry is not None, "config requires k8sRegistry or image"
            host = cluster.registry.split("/", 1)[0]
            registry = RegistryAccess(repository_url=cluster.registry, server=host)  # local `docker login`
        image = McpImage(f"{name}-image", args.image, registry, pulumi.ResourceOptions(parent=self))
        values = secret_values(name, args.secrets, self)
        namespace = namespace_resource(name, cluster.namespace, self)
        data = data_tier(
            name,
            cluster,
            args.postgres,
            args.redis,
            values.postgres_password,
            redis_auth_token(name, args.secrets, self),
            namespace,
            self,
        )
        app = server(
            name,
            args,
            image.ref,
            data.database_url,
            data.redis_url,
            values.request_state_key,
            namespace,
            self,
        )
        ingress(name, args.domain, cluster, app, self)
        network_policies(name, cluster, data, namespace, self)
        backup_job(name, cluster, args.backup, args.postgres.storage_gb, image.ref, app, self)
        monitoring(name, args, cluster, app, self)

        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.mcp_endpoint = pulumi.Output.from_input(args.mcp_url)
        self.image = image.ref
        self.database = pulumi.Output.from_input(f"{cluster.namespace}/{data.postgres_name}")
        self.cache = pulumi.Output.from_input(f"{cluster.namespace}/{data.redis_name}")
        self.backup_bucket = pulumi.Output.from_input(
            urlsplit(cluster.backup_url).netloc if cluster.backup_url else ""
        )
        self.namespace = pulumi.Output.from_input(cluster.namespace)
        self.register_outputs({key: getattr(self, key) for key in type(self).__annotations__})
