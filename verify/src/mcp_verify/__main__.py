"""mcp-verify URL [--routes a,b] [--token T]: exit 0 when no check fails, 1 when one does,
2 when the arguments are wrong."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mcp_verify.report import exit_status, render, summary
from mcp_verify.run import verify
from mcp_verify.target import TargetError, parse_target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mcp-verify",
        description="Check a deployed MCP platform from outside, as its clients meet it.",
    )
    parser.add_argument(
        "url", help="the platform's public URL (https://domain), or one route's /<name>/mcp URL"
    )
    parser.add_argument(
        "--routes", default=os.environ.get("ROUTES"), help="route names, comma separated [ROUTES]"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("TOKEN"),
        help="a bearer token the routes accept, for the stream check [TOKEN; prefer the variable: "
        "arguments show in process lists]",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request [10]")
    parser.add_argument(
        "--stream-seconds", type=float, default=5.0, help="how long a stream's headers may take [5]"
    )
    args = parser.parse_args(argv)
    try:
        target = parse_target(args.url, args.routes)
    except TargetError as error:
        print(f"mcp-verify: {error}", file=sys.stderr)
        return 2
    print(f"mcp-verify {target.base}: routes {', '.join(target.routes)}", flush=True)
    results = asyncio.run(verify(target, args.token or None, args.timeout, args.stream_seconds))
    print(render(results))
    print(summary(results))
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
