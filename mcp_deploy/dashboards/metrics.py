"""The Prometheus metrics the dashboards read, named as the services export them.

gateway/src/mcp_gateway/metrics.py, server/src/mcp_notes/metrics.py and bridge/src/mcp_bridge/
metrics.py define them; tests/infra/test_dashboards.py reads those files, so renaming a metric there
without renaming it here fails a test instead of leaving a panel empty."""

from __future__ import annotations

# The gateway sees every request to every server: route = server name.
GATEWAY_REQUESTS = "gateway_requests_total"  # route, method, tool, status (HTTP status code)
GATEWAY_LATENCY = "gateway_request_duration_seconds"  # histogram: route, method
GATEWAY_UPSTREAM_ERRORS = "gateway_upstream_errors_total"  # route, kind
GATEWAY_AUTH_FAILURES = "gateway_auth_failures_total"  # route, reason
GATEWAY_RATE_LIMITED = "gateway_rate_limited_total"  # route
# Our notes server (and anything built on mcp_notes): per tool, inside the server.
SERVER_REQUESTS = "mcp_requests_total"  # method, tool, status (ok, tool_error, http_<code>)
SERVER_LATENCY = "mcp_request_duration_seconds"  # histogram: method, tool
SERVER_TOOL_ERRORS = "mcp_tool_errors_total"  # tool
# Server and gateway: 1 while Postgres / Redis answer.
DEPENDENCY_UP = "mcp_dependency_up"  # dependency: postgres, redis
# The bridge in front of a stdio server.
BRIDGE_REQUESTS = "bridge_requests_total"  # server, method, outcome
BRIDGE_LATENCY = "bridge_request_duration_seconds"  # histogram: server, method

HISTOGRAMS = frozenset({GATEWAY_LATENCY, SERVER_LATENCY, BRIDGE_LATENCY})

# Labels the collectors add to every scraped series, so one account or project can hold several
# platforms: which platform, and which of its services (a server's name, or "gateway").
PLATFORM_LABEL = "mcp_platform"
SERVICE_LABEL = "mcp_service"
