"""Ready-to-paste client configuration for a platform's servers, as a stack output.

`pulumi stack output clientConfig --json` gives, for every server behind the gateway:
- `vscode`: the body of a VS Code `.vscode/mcp.json` (top-level `servers`, type `http`);
- `mcpJson`: the body of a project `.mcp.json` for Claude Code and other clients of that format
  (top-level `mcpServers`, type `http`);
- `claude`: one `claude mcp add --transport http NAME URL` line per server.
No tokens are in any of them: clients discover the authorization server from the route's
RFC 9728 metadata and sign in themselves.
"""

from __future__ import annotations

from typing import Any

import pulumi


def client_config(urls: dict[str, pulumi.Input[str]]) -> pulumi.Output[dict[str, Any]]:
    names = sorted(urls)

    def render(resolved: list[str]) -> dict[str, Any]:
        by_name = dict(zip(names, resolved, strict=True))
        entries = {name: {"type": "http", "url": url} for name, url in by_name.items()}
        return {
            "vscode": {"servers": entries},
            "mcpJson": {"mcpServers": entries},
            "claude": [f"claude mcp add --transport http {name} {url}" for name, url in by_name.items()],
        }

    return pulumi.Output.all(*(urls[name] for name in names)).apply(render)
