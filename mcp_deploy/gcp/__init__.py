"""The gcp-cloudrun target."""

from mcp_deploy.gcp.service import CloudRunMcpService

__all__ = ["CloudRunMcpService"]
