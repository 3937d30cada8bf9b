"""What one HTTP request turned out to be, filled in by whichever layer learns it."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

# MCP methods we label metrics with; anything else a client sends becomes "other".
KNOWN_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "server/discover",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
        "subscriptions/listen",
        "notifications/initialized",
        "notifications/cancelled",
    }
)


@dataclass
class RequestInfo:
    request_id: str
    method: str = ""
    tool: str = ""
    subject: str = ""
    outcome: str = ""  # "ok", "tool_error", "rpc_error", or an HTTP rejection like "http_401"
    rpc_code: int | None = None
    auth_failure: str = ""  # why the token was refused, when it was
    # Set when a dependency the request needed was unavailable: the answer becomes 503 with
    # Retry-After, so clients and load balancers retry instead of treating it as bad input.
    unavailable: str = ""
    retry_after_seconds: int = 0


CURRENT: ContextVar[RequestInfo | None] = ContextVar("mcp_notes_request", default=None)


def current() -> RequestInfo | None:
    return CURRENT.get()
