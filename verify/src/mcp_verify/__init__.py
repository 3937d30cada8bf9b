"""mcp-verify: a deployed MCP platform checked from outside, the way a client meets it."""
