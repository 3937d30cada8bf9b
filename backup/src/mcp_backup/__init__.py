"""mcp-backup: the platform's backup job for the server databases (see backup/README.md)."""
