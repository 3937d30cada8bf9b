"""The aws-ecs target."""

from components.aws.service import EcsMcpService

__all__ = ["EcsMcpService"]
