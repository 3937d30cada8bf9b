"""The MCP gateway."""
