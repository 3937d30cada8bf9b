"""The kubernetes target."""

from components.k8s.service import KubernetesMcpService

__all__ = ["KubernetesMcpService"]
