"""mcp-bridge: a stdio MCP server served over streamable HTTP, behind the gateway."""
