"""The gcp-cloudrun target: `GcpPlatform` (what servers share) and `GcpServer` (one per server).

platform = GcpPlatform("mcp", platform_args)
GcpServer("notes", {"build": "server"}, platform)
GcpServer("tools", {"image": "us-docker.pkg.dev/acme/tools/tools:1.0", "port": 3000}, platform)
platform.finish()  # after the last server: the URL map and backup jobs need every server
"""

from mcp_deploy.gcp.platform import GcpPlatform
from mcp_deploy.gcp.server import GcpServer

__all__ = ["GcpPlatform", "GcpServer"]
