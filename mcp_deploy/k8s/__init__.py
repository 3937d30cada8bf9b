"""The kubernetes target: a platform and any number of servers on it."""

from mcp_deploy.k8s.platform import K8sPlatform
from mcp_deploy.k8s.server import K8sServer

__all__ = ["K8sPlatform", "K8sServer"]
