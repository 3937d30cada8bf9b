"""One wrk run against one server: figures, the server's peak memory meanwhile, and a loud
failure if any response was not a JSON-RPC success."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from bench import BenchError
from bench.calls import Call
from bench.servers import Server

SCRIPT = Path(__file__).with_name("post.lua")


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    peak_rss_kib: int
    cpu_us: float  # the server's CPU (user + system) per request during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(server: Server, call: Call, seconds: int, connections: int, log_path: Path) -> Figures:
    """`wrk -t1 -cN -dS --latency -s post.lua`: one load thread, as the machine has two cores and
    the server needs the other. --timeout 10s keeps slow answers in the latency figures instead
    of dropping them as timeouts."""
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
        "-s", str(SCRIPT), server.url,
    ]  # fmt: skip
    headers = "\n".join(f"{name}: {value}" for name, value in call.headers().items())
    env = os.environ | {"BENCH_BODY": call.body(), "BENCH_HEADERS": headers}
    cpu_before = server.cpu_seconds()
    with _PeakRss(server) as rss:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    cpu_seconds = server.cpu_seconds() - cpu_before
    with log_path.open("a") as log:
        log.write(f"$ {server.name}: {call.describe()}: {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    result, sample = _parse(done.stdout)
    if done.returncode != 0 or result is None:
        raise BenchError(f"wrk failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    failures = {k: result[k] for k in ("non_2xx", "socket_errors", "timeouts", "bad") if result[k]}
    if failures or not result["requests"]:
        raise BenchError(
            f"{server.name} failed under load ({call.describe()}): {failures or 'no requests'} "
            f"of {result['requests']} requests\nfirst bad response: {sample or '-'}\n"
            f"--- last lines of {server.log_path} ---\n{server.log_tail()}"
        )
    return Figures(
        requests=result["requests"],
        seconds=result["microseconds"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        peak_rss_kib=rss.peak,
        cpu_us=cpu_seconds / result["requests"] * 1e6,
    )


def _parse(stdout: str) -> tuple[dict[str, int] | None, str]:
    result, sample = None, ""
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line.removeprefix("BENCH_RESULT "))
        elif line.startswith("BENCH_SAMPLE "):
            sample = line.removeprefix("BENCH_SAMPLE ")
    return result, sample


class _PeakRss:
    """Samples the server's VmRSS every 50 ms while the block runs; `peak` is the highest."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = server.rss_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.server.rss_kib())
