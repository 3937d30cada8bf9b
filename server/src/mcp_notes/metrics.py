"""Prometheus metrics, one registry per app so two apps in one process never mix counts."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mcp_requests_total",
            "MCP requests by JSON-RPC method, tool and outcome",
            ["method", "tool", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mcp_request_duration_seconds",
            "MCP request latency by JSON-RPC method and tool",
            ["method", "tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tool_errors = Counter(
            "mcp_tool_errors_total",
            "Tool calls that returned an error",
            ["tool"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "mcp_rate_limited_total", "Requests refused with 429", registry=self.registry
        )
        self.auth_failures = Counter(
            "mcp_auth_failures_total",
            "Requests refused by authentication or scope, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.db_pool_in_use = Gauge(
            "mcp_db_pool_connections_in_use",
            "Database connections checked out",
            registry=self.registry,
        )

    def watch_pool(self, in_use: Callable[[], int]) -> None:
        self.db_pool_in_use.set_function(in_use)

    def render(self) -> bytes:
        return generate_latest(self.registry)
