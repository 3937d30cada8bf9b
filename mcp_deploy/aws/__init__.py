"""The aws-ecs target."""

from mcp_deploy.aws.service import EcsMcpService

__all__ = ["EcsMcpService"]
