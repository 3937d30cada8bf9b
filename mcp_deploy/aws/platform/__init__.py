"""`AwsPlatform`: what every server of one stack shares on aws-ecs.

The network (a new VPC, or an existing one), the ECS cluster and its Service Connect namespace, the
public ALB with its TLS listener, certificate, DNS alias and WAF rate limit, Postgres on RDS and
Redis on ElastiCache only when asked for, the backup bucket and image, the alarm topic, and the
gateway: the one service the ALB reaches. Servers (`AwsServer`) take the platform, read its
handles (plain attributes so the component schema sees only the outputs) and register their
routes; `finish()` builds the gateway with every route.
"""

import pulumi
import pulumi_aws as aws

from mcp_deploy.aws.images import ecr_access, repository
from mcp_deploy.aws.platform.alarms import alarm_topic, data_alarms
from mcp_deploy.aws.platform.backups import Backups, backups
from mcp_deploy.aws.platform.collector import telemetry
from mcp_deploy.aws.platform.dashboard import cloudwatch_dashboard
from mcp_deploy.aws.platform.data import Postgres, Redis, postgres, redis
from mcp_deploy.aws.platform.discovery import Discovery
from mcp_deploy.aws.platform.edge import Edge, edge
from mcp_deploy.aws.platform.gateway import HOST, Gateway, Upstream, gateway, gateway_service_name
from mcp_deploy.aws.platform.network import Network, network
from mcp_deploy.aws.platform.webhook import webhook_subscription
from mcp_deploy.aws.security import REDIS_PORT, allow, https_out, security_group
from mcp_deploy.bridge_image import bridge_base_image
from mcp_deploy.cloudwatch_lookback import lookback_problem
from mcp_deploy.fargate import fargate_size_problems
from mcp_deploy.names import physical_name
from mcp_deploy.platform_args import PlatformArgs
from mcp_deploy.platform_spec import PlatformArgsError, PlatformSpec, resolve_platform


class AwsPlatform(pulumi.ComponentResource):
    """aws-ecs: VPC, ECS cluster, HTTPS ALB with its certificate, and RDS PostgreSQL, ElastiCache
    Redis, backups and alarms when servers need them; servers are added with AwsServer."""

    url: pulumi.Output[str]
    database: pulumi.Output[str]
    cache: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    alarm_topic: pulumi.Output[str]
    load_balancer_dns: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = resolve_platform(args)
        problems = fargate_size_problems(
            spec.gateway.cpu, spec.gateway.memory, "gateway cpu", "gateway memory"
        )
        sparse = lookback_problem(spec.backup.schedule)
        if sparse is not None:
            problems.append(f"backup schedule {spec.backup.schedule!r}: {sparse}")
        if problems:  # refused before anything is registered
            raise PlatformArgsError(f"aws platform {name}: " + "; ".join(problems))
        super().__init__("mcp-deploy:aws:Platform", name, None, opts)
        self.prefix = name
        self.spec: PlatformSpec = spec
        self.region: pulumi.Output[str] = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        self.network: Network = network(name, spec.aws, self)
        self.discovery = Discovery(name, self.network.vpc_id, self)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=physical_name(name, limit=255),
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            service_connect_defaults=aws.ecs.ClusterServiceConnectDefaultsArgs(
                namespace=self.discovery.namespace.arn
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alb_group = security_group(
            f"{name}-alb",
            (name, "alb"),
            self.network.vpc_id,
            "MCP load balancer: HTTPS and the HTTP redirect",
            self,
        )
        self._public_ingress(name)
        self.edge: Edge = edge(
            name, spec.domain, spec.aws, spec.gateway, self.network, self.alb_group, spec.production, self
        )
        # Servers admit only this group; it exists before them so their rules can name it.
        self.gateway_group = security_group(
            f"{name}-gateway", (name, "gateway"), self.network.vpc_id, "MCP gateway tasks", self
        )
        self.gateway_rules: list[pulumi.Resource] = [
            *allow(f"{name}-alb-to-gateway", self.alb_group, self.gateway_group, spec.gateway.port, self),
            https_out(f"{name}-gateway", self.gateway_group, self),  # the issuer's JWKS, AWS APIs, ECR
        ]
        self.topic = alarm_topic(name, spec.alert_email, self)
        webhook_subscription(name, self.topic, spec.alert_webhook_url, self)
        self.telemetry = telemetry(
            name, physical_name(name), spec.log_retention_days, spec.tracing_sample_ratio, self
        )

        self.postgres_group: aws.ec2.SecurityGroup | None = None
        self.postgres: Postgres | None = None
        self.backups: Backups | None = None
        if spec.postgres is not None:
            self.postgres_group = security_group(
                f"{name}-postgres",
                (name, "postgres"),
                self.network.vpc_id,
                "PostgreSQL: only from its users",
                self,
            )
            self.postgres = postgres(
                name, spec.postgres, self.network, self.postgres_group, spec.production, self
            )
            self.backups = backups(
                name, spec, self.network, self.postgres_group, self.cluster, self.topic, self
            )
        self.redis_group: aws.ec2.SecurityGroup | None = None
        self.redis: Redis | None = None
        if spec.redis is not None:
            self.redis_group = security_group(
                f"{name}-redis", (name, "redis"), self.network.vpc_id, "Redis: only from its users", self
            )
            self.redis = redis(name, spec.redis, self.network, self.redis_group, self)
            self.gateway_rules += allow(
                f"{name}-gateway-to-redis", self.gateway_group, self.redis_group, REDIS_PORT, self
            )
        data_alarms(name, self.topic, self.postgres, self.redis, self)
        self._upstreams: dict[str, Upstream] = {}
        self.gateway: Gateway | None = None

        self.url = pulumi.Output.from_input(f"https://{spec.domain}")
        self.database = self.postgres.instance.identifier if self.postgres else pulumi.Output.from_input("")
        self.cache = self.redis.group.id if self.redis else pulumi.Output.from_input("")
        self.backup_bucket = self.backups.bucket.bucket if self.backups else pulumi.Output.from_input("")
        self.alarm_topic = self.topic.arn
        self.load_balancer_dns = self.edge.load_balancer.dns_name
        self._finished = False
        self._bridge_base: pulumi.Output[str] | None = None

    def bridge_base(self) -> pulumi.Output[str]:
        """The bridge base image stdio servers are built FROM (made with the first of them), in an
        ECR repository of its own."""
        if self._bridge_base is None:
            name, spec = self.prefix, self.spec
            repo = repository(
                f"{name}-bridge", (name, "bridge"), spec.registry_keep_images, spec.production, self
            )
            opts = pulumi.ResourceOptions(parent=self)
            self._bridge_base = bridge_base_image(f"{name}-bridge", ecr_access(repo, self), opts)
        return self._bridge_base

    def finish(self) -> None:
        """Call once, after the last server: the gateway is built with every server's route, and
        the outputs are final then (the same step as on gcp-cloudrun and kubernetes)."""
        if not self._finished:
            self._finished = True
            self.gateway = gateway(self, list(self._upstreams.values()))
            cloudwatch_dashboard(self, [u.spec for u in self._upstreams.values()])
            self.register_outputs({key: getattr(self, key) for key in type(self).__annotations__})

    def register(self, upstream: Upstream) -> None:
        """A server's route, for the gateway finish() builds."""
        server = upstream.spec.name
        if self._finished:
            raise PlatformArgsError(f"aws platform {self.prefix}: server {server!r} added after finish()")
        if server in self._upstreams:
            raise PlatformArgsError(f"aws platform {self.prefix}: two servers named {server!r}")
        self._upstreams[server] = upstream

    @property
    def gateway_issuer(self) -> str:
        """The issuer of the tokens the gateway signs for servers (gateway contract)."""
        return f"https://{self.spec.domain}/gateway"

    def gateway_calls(self, server: str) -> dict[str, pulumi.Input[str]]:
        """CloudWatch dimensions of the requests the gateway sends `server` over Service Connect,
        as the gateway's proxy reports them. The target metrics (HTTPCode_Target_*,
        TargetResponseTime) exist only per `TargetDiscoveryName`, alone or with the calling
        service's ClusterName and ServiceName, never with the server's own ServiceName; the
        calling service keeps a stack's alarms off another stack's server of the same name."""
        return {
            "ClusterName": self.cluster.name,
            "ServiceName": gateway_service_name(self.prefix),
            "TargetDiscoveryName": server,
        }

    @property
    def gateway_jwks_url(self) -> str:
        """Where servers fetch the gateway's keys: its tasks' private DNS name (discovery.py)."""
        return f"http://{self.discovery.replica_host(HOST)}:{self.spec.gateway.port}/.well-known/jwks.json"

    def _public_ingress(self, name: str) -> None:
        for port in (443, 80):
            for family, ipv4, ipv6 in (("v4", "0.0.0.0/0", None), ("v6", None, "::/0")):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-in-{port}-{family}",
                    security_group_id=self.alb_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=ipv4,
                    cidr_ipv6=ipv6,
                    description=f"clients on {port}",
                    opts=pulumi.ResourceOptions(parent=self),
                )
