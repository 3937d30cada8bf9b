"""ASGI layers around the MCP transport: request log and metrics, JSON-RPC error bodies,
rate limits and per-tool scopes."""
