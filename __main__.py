"""mcp-deploy: stack config -> target component -> the same outputs for every target."""

from mcp_deploy.args import from_config
from mcp_deploy.config import read_provider_settings, read_stack_config
from mcp_deploy.targets import builder_for, export_outputs

config = read_stack_config()  # one message naming every bad key, before any resource
provider = read_provider_settings(config.target)  # e.g. gcp:project, for the targets that need it
build = builder_for(config.target)  # an unbuilt target stops here, before any resource
service = build("mcp", from_config(config, provider))
export_outputs(service)
