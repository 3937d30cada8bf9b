"""The gateway's Prometheus metrics, one registry per app. Labels are bounded: routes are
configured, methods collapse to the known MCP ones, and each route keeps at most MAX_TOOLS tool
names (later ones count as "other": tool names come from clients)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from mcp_notes.http.request_info import KNOWN_METHODS
from mcp_notes.metrics import LATENCY_BUCKETS, DependencyCollector, DependencyState

MAX_TOOLS = 100


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests_total",
            "Requests through the gateway by route, JSON-RPC method, tool and HTTP status",
            ["route", "method", "tool", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time to the end of the response (streams included) by route and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors_total",
            "Upstream requests that failed: connect, timeout, protocol, session_gone",
            ["route", "kind"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "gateway_auth_failures_total",
            "Requests refused by authentication or scope, by reason",
            ["route", "reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "gateway_rate_limited_total", "Requests refused with 429", ["route"], registry=self.registry
        )
        self._tools: dict[str, set[str]] = {}
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}

    def watch_dependencies(self, dependencies: Iterable[DependencyState]) -> None:
        self.registry.register(DependencyCollector(list(dependencies)))

    def count(self, route: str, method: str, tool: str, status: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else ("other" if method else "-")
        tool = self._tool(route, tool)
        key = (route, method, tool, str(status))
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.latency.labels(route, method))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def _tool(self, route: str, tool: str) -> str:
        if not tool:
            return ""
        seen = self._tools.setdefault(route, set())
        if tool in seen:
            return tool
        if len(seen) < MAX_TOOLS:
            seen.add(tool)
            return tool
        return "other"

    def render(self) -> bytes:
        return generate_latest(self.registry)
