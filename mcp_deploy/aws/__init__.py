"""The aws-ecs target: a platform per stack, any number of servers on it."""

from mcp_deploy.aws.platform import AwsPlatform
from mcp_deploy.aws.server import AwsServer

__all__ = ["AwsPlatform", "AwsServer"]
