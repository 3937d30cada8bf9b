"""The gateway's cost: the same request to the bare server directly and through mcp-gateway.

What the issue asks for: the gateway's CPU per forwarded request (from its own CPU counters)
beside the bare server's CPU per request, their ratio, and the p50/p99 latency the hop adds.
Rounds alternate (direct, through, direct, ...) like the main comparison."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import report
from bench.calls import Call
from bench.load import Figures, wrk
from bench.servers import Server


@dataclass
class Round:
    figures: Figures
    server_cpu: float  # seconds of the bare server's CPU during the round
    gateway_cpu: float  # seconds of the gateway's CPU (0 for direct rounds)


def compare(
    bare: Server, gateway: Server, call: Call, seconds: int, rounds: int, connections: int, log: Path
) -> dict[str, float]:
    direct: list[Round] = []
    through: list[Round] = []
    wrk(gateway, call, 1, connections, log)  # warm: connections, JIT-free but caches
    for number in range(1, rounds + 1):
        for target, runs in ((bare, direct), (gateway, through)):
            server_before, gateway_before = bare.cpu_seconds(), gateway.cpu_seconds()
            figures = wrk(target, call, seconds, connections, log)
            runs.append(
                Round(figures, bare.cpu_seconds() - server_before, gateway.cpu_seconds() - gateway_before)
            )
            report.progress("gateway hop", number, target.name, call.describe(), figures)
    return _summary(direct, through)


def _summary(direct: list[Round], through: list[Round]) -> dict[str, float]:
    def per_request(runs: list[Round], cpu: str) -> float:
        return sum(getattr(r, cpu) for r in runs) / sum(r.figures.requests for r in runs) * 1e6

    def median(runs: list[Round], name: str) -> float:
        values = sorted(getattr(r.figures, name) for r in runs)
        return values[len(values) // 2]

    server_us = per_request(direct, "server_cpu")
    gateway_us = per_request(through, "gateway_cpu")
    return {
        "server_cpu_us": server_us,
        "gateway_cpu_us": gateway_us,
        "cpu_ratio": gateway_us / server_us,
        "direct_rps": median(direct, "rps"),
        "through_rps": median(through, "rps"),
        "added_p50_ms": median(through, "p50_ms") - median(direct, "p50_ms"),
        "added_p99_ms": median(through, "p99_ms") - median(direct, "p99_ms"),
    }
