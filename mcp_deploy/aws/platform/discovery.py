"""How the gateway finds servers, and servers the gateway, without a load balancer: Cloud Map.

- ECS Service Connect, in an HTTP namespace of the platform's own: every server publishes
  `<name>:<port>` and the gateway `gateway:8080`; each task's Service Connect proxy resolves the
  names and balances connections per request over the healthy tasks.
- A private DNS namespace, where ECS keeps tasks' addresses as A records (MULTIVALUE):
  - Sticky servers (`sessions: sticky`) need the gateway to pick the replica itself (it pins an
    `Mcp-Session-Id` to one task address), which a per-request proxy cannot do: the gateway
    resolves `<name>.<namespace>` to every replica.
  - The gateway's own tasks, as `gateway.<namespace>`, for the servers that fetch its JWKS. Not
    through Service Connect: a task resolves only the Service Connect names that existed when it
    started ("Existing tasks can't resolve and connect to the new endpoint", ECS Service Connect
    components), and on a first `pulumi up` the servers start before the gateway, which must
    start after them to resolve their names. A DNS name resolves once the gateway's first task
    registers, whenever the asking task started; the servers retry their JWKS every second until
    then (a negative answer is cached for the namespace's SOA TTL).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mcp_deploy.names import physical_name

DNS_TTL_SECONDS = 10  # a replaced task's address leaves the gateway's view this fast
# The proxy's timeouts: idle as long as the ALB's (streams stay open that long); no per-request
# limit (its HTTP default of 15 s would cut every SSE stream and long tool call).
IDLE_TIMEOUT_SECONDS = 900


class Discovery:
    def __init__(self, name: str, vpc_id: pulumi.Input[str], parent: pulumi.Resource) -> None:
        self._name = name
        self.namespace = aws.servicediscovery.HttpNamespace(
            f"{name}-services",
            name=physical_name(name, "services", limit=1024),
            description="ECS Service Connect: the gateway and the MCP servers behind it",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self.dns = aws.servicediscovery.PrivateDnsNamespace(
            f"{name}-tasks",
            name=self.dns_domain,
            vpc=vpc_id,
            description="Task addresses: the gateway's (its JWKS) and sticky MCP servers' (session pinning)",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        # Made before any server, which may name it in its JWKS URL; ECS fills it with the
        # gateway's tasks once the gateway's service exists.
        self.gateway_records = self._task_records(
            f"{name}-gateway-tasks", "gateway", "the MCP gateway", parent
        )

    @property
    def dns_domain(self) -> str:
        """The private zone task addresses are listed in."""
        return f"{physical_name(self._name, 'tasks', limit=63)}.internal"

    def replica_records(self, server: str, parent: pulumi.Resource) -> aws.servicediscovery.Service:
        """A Cloud Map service whose A records are `server`'s task addresses (ECS keeps them)."""
        return self._task_records(f"{server}-replicas", server, f"MCP server {server}", parent)

    def _task_records(
        self, resource: str, host: str, what: str, parent: pulumi.Resource
    ) -> aws.servicediscovery.Service:
        return aws.servicediscovery.Service(
            resource,
            name=host,
            description=f"Task addresses of {what}",
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=self.dns.id,
                routing_policy="MULTIVALUE",
                dns_records=[
                    aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=DNS_TTL_SECONDS, type="A")
                ],
            ),
            # ECS reports task health to Cloud Map itself.
            health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgs(),
            force_destroy=True,
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def connect(
        self, port_name: str | None = None, alias: str | None = None, port: int | None = None
    ) -> aws.ecs.ServiceServiceConnectConfigurationArgs:
        """Service Connect in the platform's namespace: as a client only, or also publishing the
        task definition's port mapping `port_name` as `alias:port`."""
        published = (
            [
                aws.ecs.ServiceServiceConnectConfigurationServiceArgs(
                    port_name=port_name,
                    discovery_name=alias,
                    client_alias=[
                        aws.ecs.ServiceServiceConnectConfigurationServiceClientAliasArgs(
                            dns_name=alias, port=port
                        )
                    ],
                    timeout=aws.ecs.ServiceServiceConnectConfigurationServiceTimeoutArgs(
                        idle_timeout_seconds=IDLE_TIMEOUT_SECONDS, per_request_timeout_seconds=0
                    ),
                )
            ]
            if port_name is not None and alias is not None and port is not None
            else None
        )
        return aws.ecs.ServiceServiceConnectConfigurationArgs(
            enabled=True, namespace=self.namespace.arn, services=published
        )

    def replica_host(self, host: str) -> str:
        """`host`'s tasks, every one an A record: a sticky server's or the gateway's."""
        return f"{host}.{self.dns_domain}"
