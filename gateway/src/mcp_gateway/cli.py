"""mcp-gateway serve | dev: the commands (__main__.py is the entry point).

`serve` (the default): the gateway from the environment (see README).
`dev`: the local platform for `make dev` (see dev.py).
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from mcp_gateway.app import create_app
from mcp_gateway.settings import GatewaySettings, SettingsError, load_settings
from mcp_notes import logs, telemetry
from mcp_notes.serving import DrainingServer, uvicorn_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mcp-gateway", description="The platform's one public MCP endpoint")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the gateway (the default)")
    commands.add_parser("dev", help="our notes server behind the gateway on http://127.0.0.1:8000")
    options = parser.parse_args(argv)
    if options.command == "dev":
        from mcp_gateway.dev import run_dev

        return run_dev()
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"mcp-gateway: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    return serve(settings)


def serve(settings: GatewaySettings) -> int:
    telemetry.setup("mcp-gateway")
    app, gateway = create_app(settings)
    server = DrainingServer(uvicorn_config(app, settings), gateway.drain, settings)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0
