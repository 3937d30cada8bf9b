"""A gcp-cloudrun server: any MCP server image on the platform."""

from mcp_deploy.gcp.server.component import GcpServer

__all__ = ["GcpServer"]
