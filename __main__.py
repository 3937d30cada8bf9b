"""mcp-deploy: stack config -> platform -> servers -> outputs, the same shape on every target."""

from mcp_deploy.config import read_provider_settings, read_stack_config
from mcp_deploy.from_config import platform_args, server_args
from mcp_deploy.targets import components_for, export_outputs

config = read_stack_config()  # one message naming every bad key, before any resource
provider = read_provider_settings(config.target)  # e.g. gcp:project, for the targets that need it
components = components_for(config.target)
platform = components.platform("mcp", platform_args(config, provider))
servers = {name: components.server(name, args, platform) for name, args in server_args(config).items()}
platform.finish()  # what needs every server: e.g. the load balancer's URL map on gcp-cloudrun
export_outputs(platform, servers)
