"""mcp-deploy: stack config -> target component -> the same outputs for every target."""

from components.args import from_config
from components.config import read_provider_settings, read_stack_config
from components.targets import builder_for, export_outputs

config = read_stack_config()  # one message naming every bad key, before any resource
provider = read_provider_settings(config.target)  # e.g. gcp:project, for the targets that need it
build = builder_for(config.target)  # an unbuilt target stops here, before any resource
service = build("mcp", from_config(config, provider))
export_outputs(service)
