"""Images of stdio servers (`transport: stdio` with a `package`): one bridge base image per
platform (bridge/Dockerfile: the bridge, Python and Node.js), and per server an image built FROM
it with the pinned package installed at build time (bridge/server-image/Dockerfile), so a replica
downloads nothing when it starts.

The server image's build args are the base image's digest and the package; its tag hashes the
base image's tag (which hashes the base's context) and the package spec, so a changed bridge or a
new version gives a new tag, as the registries' immutable tags require.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from mcp_deploy.image import McpImage, RegistryAccess, image_tag

ROOT = Path(__file__).resolve().parents[1]
# The bridge shares the reference server's package (like the gateway): built from the root.
BASE_CONTEXT = ROOT
BASE_DOCKERFILE = ROOT / "bridge" / "Dockerfile"
SERVER_CONTEXT = ROOT / "bridge" / "server-image"


def bridge_base_image(name: str, access: RegistryAccess, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The platform's bridge base image, by digest."""
    return McpImage(name, None, access, opts, context=BASE_CONTEXT, dockerfile=BASE_DOCKERFILE).ref


def stdio_server_image(
    name: str, package: str, base: pulumi.Input[str], access: RegistryAccess, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """A stdio server's image: the base with `package` installed, by digest."""
    return McpImage(
        name,
        None,
        access,
        opts,
        context=SERVER_CONTEXT,
        build_args={"BRIDGE_BASE": base, "PACKAGE": package},
        tag_inputs=[image_tag(BASE_CONTEXT, BASE_DOCKERFILE), package],
    ).ref
