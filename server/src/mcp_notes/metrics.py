"""Prometheus metrics, one registry per app so two apps in one process never mix counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Bounded: methods and tools are collapsed to known names before they get here.
        self._children: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
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

    def watch_dependencies(self, dependencies: Iterable[DependencyState]) -> None:
        """mcp_dependency_up{dependency} and mcp_dependency_state_changes_total{dependency},
        read from each dependency's health when scraped."""
        self.registry.register(DependencyCollector(list(dependencies)))

    def count(self, method: str, tool: str, outcome: str, seconds: float) -> None:
        """One MCP request. The labelled children are looked up once per label set, not per
        request: `labels()` takes a lock and builds a key every time."""
        children = self._children.get((method, tool, outcome))
        if children is None:
            errors = self.tool_errors.labels(tool) if outcome == "tool_error" else None
            children = (
                self.requests.labels(method, tool, outcome),
                self.latency.labels(method, tool),
                errors,
            )
            self._children[(method, tool, outcome)] = children
        requests, latency, errors = children
        requests.inc()
        latency.observe(seconds)
        if errors is not None:
            errors.inc()

    def watch_pool(self, in_use: Callable[[], int]) -> None:
        self.db_pool_in_use.set_function(in_use)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DependencyState(Protocol):
    name: str
    up: bool
    changes: int


class DependencyCollector(Collector):
    def __init__(self, dependencies: list[DependencyState]) -> None:
        self._dependencies = dependencies

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "mcp_dependency_up", "1 while the dependency answers, 0 while it is down", labels=["dependency"]
        )
        changes = CounterMetricFamily(
            "mcp_dependency_state_changes",
            "Times the dependency went down or came back",
            labels=["dependency"],
        )
        for dependency in self._dependencies:
            up.add_metric([dependency.name], 1.0 if dependency.up else 0.0)
            changes.add_metric([dependency.name], dependency.changes)
        yield up
        yield changes
