"""The gcp-cloudrun platform: everything the servers of one stack share."""

from mcp_deploy.gcp.platform.component import GcpPlatform

__all__ = ["GcpPlatform"]
