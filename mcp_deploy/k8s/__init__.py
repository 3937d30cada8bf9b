"""The kubernetes target."""

from mcp_deploy.k8s.service import KubernetesMcpService

__all__ = ["KubernetesMcpService"]
