"""The component provider `pulumi package add` runs (see PulumiPlugin.yaml): it serves the
platform and server components listed in `mcp_deploy.COMPONENTS` under the package name
`mcp-deploy`. Pulumi starts it as `python mcp_deploy_provider <engine address> ...`."""

import sys
from pathlib import Path

import pulumi.provider.experimental as experimental

# Run as a directory, Python puts only this folder on sys.path; the package sits beside it
# (it is also installed into the plugin's virtualenv by `uv sync`).
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from mcp_deploy import COMPONENTS

experimental.component_provider_host(components=list(COMPONENTS), name="mcp-deploy")
