"""mcp-deploy as a library: one platform and three servers, without the stack-config layer.

- notes: our reference server, built from ../../server (Postgres, Redis, OAuth at the server);
- tools: a team's prebuilt, stateless image on port 3000 with /healthz and one API key;
- whiteboard: a prebuilt server that keeps Mcp-Session-Id state, so its sessions are sticky.

Pick the target with `pulumi config set target aws-ecs|gcp-cloudrun|kubernetes`.
"""

import pulumi

from mcp_deploy.platform_args import PlatformArgs
from mcp_deploy.server_args import ServerArgs
from mcp_deploy.targets import components_for

config = pulumi.Config()
target = config.get("target") or "aws-ecs"
if target not in ("aws-ecs", "gcp-cloudrun", "kubernetes"):
    raise pulumi.RunError(f"target: aws-ecs, gcp-cloudrun or kubernetes, not {target!r}")

platform_args = PlatformArgs(
    domain="mcp.example.org",
    auth_issuer="https://login.example.org/",
    postgres={"size": "small"},
    redis={"size": "small"},
    aws={"hosted_zone_id": "ZEXAMPLEZONE"},
    gcp={
        "project": pulumi.Config("gcp").require("project"),
        "region": pulumi.Config("gcp").require("region"),
    },
    k8s={
        "registry": "registry.example.org/mcp",
        "gateway_class": "eg",
        "entry_namespace": "envoy-gateway-system",
    },
)
servers: dict[str, ServerArgs] = {
    "notes": {"build": "server"},
    "tools": {
        "image": "docker.io/acme/tools-mcp:1.4.2",
        "port": 3000,
        "health": {"liveness": "/healthz", "readiness": "/healthz"},
        "secrets": {"TOOLS_API_KEY": config.require_secret("toolsApiKey")},
        "user": 10001,
    },
    "whiteboard": {
        "image": "docker.io/acme/whiteboard-mcp:0.9.0",
        "port": 8080,
        "health": {"readiness": "/ready"},
        "sessions": "sticky",
        "replicas": {"min": 2, "max": 4},
    },
}

# On one target you would name the classes: AwsPlatform("mcp", ...), AwsServer(name, args, platform).
# components_for() picks the pair for the configured target.
components = components_for(target)
platform = components.platform("mcp", platform_args)
for name, args in servers.items():
    server = components.server(name, args, platform)
    pulumi.export(f"{name}_url", server.url)
platform.finish()  # after the last server: routes and backup jobs that need every server
pulumi.export("url", platform.url)
