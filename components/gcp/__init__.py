"""The gcp-cloudrun target."""

from components.gcp.service import CloudRunMcpService

__all__ = ["CloudRunMcpService"]
