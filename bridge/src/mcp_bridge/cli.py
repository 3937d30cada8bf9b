"""mcp-bridge serve | install SPEC [--prefix DIR]: the commands (__main__.py is the entry point).

`serve` (the default): the bridge from the environment (see bridge/README.md).
`install`: install a pinned stdio server package into a prefix at image build (install.py).
"""

from __future__ import annotations

import contextlib
import sys

from mcp_bridge.settings import BridgeSettings, SettingsError, load_settings
from mcp_notes import logs, telemetry
from mcp_notes.serving import DrainingServer, uvicorn_config


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["install"]:
        from mcp_bridge.install import main as install

        return install(args[1:])
    if args not in ([], ["serve"]):
        print("usage: mcp-bridge [serve] | install SPEC [--prefix DIR]", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"mcp-bridge: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    return serve(settings)


def serve(settings: BridgeSettings) -> int:
    from mcp_bridge.app import create_app

    telemetry.setup("mcp-bridge")
    app, drain = create_app(settings)
    server = DrainingServer(uvicorn_config(app, settings), drain, settings)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0
