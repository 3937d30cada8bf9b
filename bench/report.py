"""What the benchmark prints: progress while it runs, then one compact table and the facts
around it (start-up, memory, image size, machine)."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from bench.load import Figures
from bench.servers import ROOT

IMAGE = "localhost/mcp-server:dev"
LOCAL_IMAGE = ROOT.parent / "shared" / "tools" / "local-image"
NOT_BUILT = "not built (run ../shared/tools/local-image build server)"


@dataclass
class Outcome:
    label: str
    bare: list[Figures]
    ours: list[Figures]
    floor: list[Figures] = field(default_factory=list)  # the floor server's rounds, if it ran

    def ratio(self) -> float:
        """ours/bare req/s round by round (each pair ran back to back), then the median."""
        return _ratio(self.ours, self.bare)


def header(rounds: int, seconds: int, warmup: int, connections: int, workdir: Path) -> None:
    print("mcp-notes benchmark: ours (mcp-notes serve: Postgres, Redis, auth, metrics, INFO logs)")
    print("  vs bare (the SDK's MCPServer, one trivial tool)")
    print("  both through mcp_notes.serving.uvicorn_config: 1 worker, uvloop, httptools")
    print(f"  load: wrk -t1 -c{connections}, {warmup} s warm-up, {rounds} rounds of {seconds} s, alternating")
    print(f"  mcp {version('mcp')}, Python {platform.python_version()}, logs in {workdir}")
    print(f"  load average at start: {_load()}")
    print()


def line(what: str, value: str) -> None:
    print(f"{what:<26} {value}", flush=True)


def progress(label: str, number: int, server: str, request: str, f: Figures) -> None:
    print(
        f"  {label:<26} round {number}  {server:<4} {f.rps:8.0f} req/s  p50 {f.p50_ms:6.2f} ms"
        f"  p99 {f.p99_ms:6.2f} ms  ({request})",
        flush=True,
    )


def summary(
    outcomes: list[Outcome], starts: list[float], idle: dict[str, int], image: str, bare_start: float
) -> None:
    print()
    columns = f"{'req/s':>9}{'p50 ms':>8}{'p99 ms':>9}{'µs/req':>8}"
    print(f"{'':<27}{' bare SDK ':-^34}   {' ours ':-^34}")
    print(f"{'request (ours | bare)':<27}{columns}   {columns}{'ours/bare':>12}")
    for o in outcomes:
        print(f"{o.label:<27}{_cells(o.bare)}   {_cells(o.ours)}{o.ratio():>12.2f}")
    print("(medians of the rounds; µs/req: the server's CPU per request over all its rounds;")
    print(" ours/bare is the median of round-by-round req/s ratios)")
    for o in outcomes:
        if o.floor:
            _floor(o)
    print()
    peak_bare = max(f.peak_rss_kib for o in outcomes for f in o.bare)
    peak_ours = max(f.peak_rss_kib for o in outcomes for f in o.ours)
    each = ", ".join(f"{s:.2f}" for s in starts)
    line("start -> /ready, ours", f"{statistics.median(starts):.2f} s (median of {each} s; schema migrated)")
    line("start -> answer, bare", f"{bare_start:.2f} s (the SDK's own floor: importing it, then one request)")
    line("RSS, ours", f"idle {_mib(idle['ours'])}, peak under load {_mib(peak_ours)}")
    line("RSS, bare SDK", f"idle {_mib(idle['bare'])}, peak under load {_mib(peak_bare)}")
    line("image", image)
    now = datetime.datetime.now().astimezone()
    line("machine", f"nproc {_cpus()}, {_cpu_model()}, {now:%Y-%m-%d %H:%M %Z}")
    line("", f"load average now {_load()}; one run on a shared 2-core machine, wrk on the same cores")


def _floor(o: Outcome) -> None:
    """Where get_note's gap goes: the floor server does the same Postgres read and nothing else."""
    bare, floor, ours = (_cpu_us(runs) for runs in (o.bare, o.floor, o.ours))
    name = o.label.split(" ")[0]
    print(f"\nfloor under {name}: the bare SDK + ours' Postgres read (read_note), nothing else")
    line("  req/s p50 p99 µs/req", _cells(o.floor).strip())
    line("  floor/bare", f"{_ratio(o.floor, o.bare):.2f}  (one Postgres read: {floor - bare:+.0f} µs of CPU)")
    line("  ours/floor", f"{_ratio(o.ours, o.floor):.2f}  (our layers: {ours - floor:+.0f} µs of CPU)")


def gateway(costs: dict[str, float], connections: int) -> None:
    """The gateway hop (bench/gateway.py): its CPU per forwarded request against the bare
    server's per request, and the latency it adds, at `connections` concurrent requests."""
    print(
        f"\ngateway hop: fixed_note to the bare server, direct vs through mcp-gateway ({connections} at once)"
    )
    line("req/s direct | through", f"{costs['direct_rps']:,.0f} | {costs['through_rps']:,.0f}")
    line(
        "CPU per request: gateway | bare server",
        f"{costs['gateway_cpu_us']:.0f} µs | {costs['server_cpu_us']:.0f} µs",
    )
    line("ratio gateway/bare CPU (goal <= 1.0)", f"{costs['cpu_ratio']:.2f}")
    line(
        "added p50 | p99 (goal p99 <= 2 ms)",
        f"{costs['added_p50_ms']:.2f} ms | {costs['added_p99_ms']:.2f} ms",
    )


def image(build: bool, log_path: Path) -> str:
    """The size of localhost/mcp-server:dev in local-image's podman store, if it is there."""
    if build:
        with log_path.open("ab") as log:
            done = subprocess.run([str(LOCAL_IMAGE), "build", "server"], cwd=ROOT, stdout=log, stderr=log)
        if done.returncode != 0:
            return f"build FAILED (exit {done.returncode}), see {log_path}"
    if shutil.which("podman") is None or not LOCAL_IMAGE.exists():
        return NOT_BUILT
    # local-image keeps its own podman store; its `env` command says where.
    exports = subprocess.run([str(LOCAL_IMAGE), "env"], capture_output=True, text=True).stdout
    env = dict(os.environ)
    for export in exports.splitlines():
        name, _, value = export.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0] if value else ""
    command = ["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE]
    inspect = subprocess.run(command, env=env, capture_output=True, text=True)
    if inspect.returncode != 0:
        return NOT_BUILT
    return f"{IMAGE} {int(inspect.stdout.strip()) / 1e6:.0f} MB"


def _cells(figures: list[Figures]) -> str:
    def median(name: str) -> float:
        return statistics.median(getattr(f, name) for f in figures)

    return f"{median('rps'):>9.0f}{median('p50_ms'):>8.2f}{median('p99_ms'):>9.2f}{_cpu_us(figures):>8.0f}"


def _cpu_us(figures: list[Figures]) -> float:
    return sum(f.cpu_us * f.requests for f in figures) / sum(f.requests for f in figures)


def _ratio(top: list[Figures], bottom: list[Figures]) -> float:
    """top/bottom req/s round by round (each pair ran back to back), then the median."""
    return statistics.median(t.rps / b.rps for t, b in zip(top, bottom, strict=True))


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def _cpu_model() -> str:
    for row in Path("/proc/cpuinfo").read_text().splitlines():
        if row.startswith("model name"):
            return row.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
