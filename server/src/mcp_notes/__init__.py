"""mcp-notes: a team knowledge base served as a remote MCP server."""
