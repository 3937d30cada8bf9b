"""The bridge's Prometheus metrics, one registry per app. Labels are bounded: methods collapse to
the known MCP ones, outcomes and exit reasons are ours."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mcp_notes.http.request_info import KNOWN_METHODS
from mcp_notes.metrics import LATENCY_BUCKETS

STATES = ("starting", "ready", "busy", "session", "stopping")


class BridgeMetrics:
    def __init__(self, server: str) -> None:
        self.server = server
        self.registry = CollectorRegistry()
        self.child_starts = Counter(
            "bridge_child_starts_total", "Child processes started", ["server"], registry=self.registry
        )
        self.child_exits = Counter(
            "bridge_child_exits_total",
            "Child processes ended, by reason (exited, request_timeout, idle, session_deleted, ...)",
            ["server", "reason"],
            registry=self.registry,
        )
        self.requests = Counter(
            "bridge_requests_total",
            "MCP requests by JSON-RPC method and outcome (ok, tool_error, rpc_error, timeout, ...)",
            ["server", "method", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bridge_request_duration_seconds",
            "Time to the end of the HTTP response by JSON-RPC method",
            ["server", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def watch_children(self, snapshot: Callable[[], list[tuple[str, int]]]) -> None:
        """`snapshot` gives (state, pid) per live child; read at every scrape."""
        self.registry.register(_ChildCollector(self.server, snapshot))

    def count(self, method: str, outcome: str, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else ("other" if method else "-")
        self.requests.labels(self.server, method, outcome or "-").inc()
        self.latency.labels(self.server, method).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ChildCollector(Collector):
    def __init__(self, server: str, snapshot: Callable[[], list[tuple[str, int]]]) -> None:
        self.server = server
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        children = self.snapshot()
        by_state = GaugeMetricFamily(
            "bridge_children", "Child processes by state", labels=["server", "state"]
        )
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for state, _ in children:
            counts[state] = counts.get(state, 0) + 1
        for state, count in counts.items():
            by_state.add_metric([self.server, state], count)
        yield by_state
        # Pids are not a metric's business, but they are how an operator (and the tests) find a
        # child to inspect; a gauge per pid, bounded by BRIDGE_MAX_PROCESSES.
        pids = GaugeMetricFamily(
            "bridge_child_pid", "Live child processes", labels=["server", "pid", "state"]
        )
        for state, pid in children:
            if pid:
                pids.add_metric([self.server, str(pid), state], 1)
        yield pids

    def describe(self) -> Iterator[Any]:
        return iter(())
