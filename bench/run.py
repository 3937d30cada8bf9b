"""`make bench`: mcp-notes against a bare-SDK MCP server, both under the same uvicorn setup
(one worker, uvloop, httptools) and the same wrk load, in alternating rounds.

    server/.venv/bin/python -m bench.run      # from the repo root; what `make bench` runs

Settings (environment): BENCH_SECONDS=5 per round, BENCH_WARMUP_SECONDS=2, BENCH_ROUNDS=3,
BENCH_CONNECTIONS=16, BENCH_STARTS=3, BENCH_POSTGRES_URL, BENCH_REDIS_URL, BENCH_BUILD_IMAGE=1.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from bench import BenchError, gateway, report, servers
from bench.bare_server import FIXED
from bench.calls import Call, discover, send, tool
from bench.load import wrk
from bench.report import Outcome
from bench.servers import PUBLIC_URL, Server
from tests.server.issuer import running_issuer

# The services the server tests use (tests/server/conftest.py); the bench makes its own database.
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Config:
    seconds: int
    warmup: int
    rounds: int
    connections: int
    starts: int
    postgres: str
    redis: str
    build_image: bool

    @classmethod
    def from_env(cls) -> Config:
        def number(name: str, default: int, least: int) -> int:
            raw = os.environ.get(name, str(default))
            if not raw.isdigit() or int(raw) < least:  # wrk takes whole seconds only
                raise BenchError(f"{name} must be a whole number >= {least}, not {raw!r}")
            return int(raw)

        return cls(
            seconds=number("BENCH_SECONDS", 5, 1),
            warmup=number("BENCH_WARMUP_SECONDS", 2, 0),
            rounds=number("BENCH_ROUNDS", 3, 1),
            connections=number("BENCH_CONNECTIONS", 16, 1),
            starts=number("BENCH_STARTS", 3, 1),
            postgres=os.environ.get("BENCH_POSTGRES_URL", POSTGRES),
            redis=os.environ.get("BENCH_REDIS_URL", REDIS),
            build_image=os.environ.get("BENCH_BUILD_IMAGE") == "1",
        )


@dataclass(frozen=True)
class Scenario:
    label: str
    bare: Call
    ours: Call
    floor: Call | None = None  # also timed on the floor server (floor_server.py)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # so `finally` blocks run when make is stopped
    workdir = Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    try:
        config = Config.from_env()
        report.header(config.rounds, config.seconds, config.warmup, config.connections, workdir)
        facts = measure(config, workdir)
        facts["image"] = report.image(config.build_image, workdir / "image.log")
    except BenchError as error:
        print(f"\nBENCH FAILED: {error}\n(logs kept in {workdir})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted; all it started is stopped (logs kept in {workdir})", file=sys.stderr)
        return 130
    report.summary(**facts)
    shutil.rmtree(workdir)
    return 0


def measure(config: Config, workdir: Path) -> dict[str, Any]:
    ours_log, bare_log, wrk_log = workdir / "ours.log", workdir / "bare.log", workdir / "wrk.log"
    with ExitStack() as stack:
        issuer = stack.enter_context(running_issuer())
        database = stack.enter_context(servers.fresh_database(config.postgres))
        prefix = stack.enter_context(servers.redis_prefix(config.redis))
        env = servers.ours_env(issuer.url, database, config.redis, prefix)
        token = issuer.token(PUBLIC_URL, subject="bench", lifetime=3600)
        servers.migrate(env, ours_log)

        # Start-up: spawn to the first 200 on /ready; the last start is the one measured below.
        starts: list[float] = []
        for _ in range(config.starts - 1):
            with servers.ours(env, ours_log) as once:
                starts.append(once.ready_seconds)
        ours = stack.enter_context(servers.ours(env, ours_log))
        starts.append(ours.ready_seconds)
        bare = stack.enter_context(servers.bare(env, bare_log))
        floor = stack.enter_context(servers.floor(env, workdir / "floor.log"))
        report.line("start -> /ready, ours", ", ".join(f"{s:.2f} s" for s in starts))
        report.line("start -> first answer, bare", f"{bare.ready_seconds:.2f} s")

        scenarios = prepare(ours, bare, floor, token)
        idle = {"bare": bare.rss_kib(), "ours": ours.rss_kib()}
        outcomes = [run(scenario, bare, floor, ours, config, wrk_log) for scenario in scenarios]
        hop = stack.enter_context(servers.gateway(bare, workdir / "gateway.log"))
        fixed = tool("fixed_note", {"note_id": FIXED.id})
        send(hop.url, fixed)  # checked once by hand, as every scenario is
        costs = gateway.compare(bare, hop, fixed, config.seconds, config.rounds, config.connections, wrk_log)
        report.gateway(costs, config.connections)
        return {"outcomes": outcomes, "starts": starts, "idle": idle, "bare_start": bare.ready_seconds}


def prepare(ours: Server, bare: Server, floor: Server, token: str) -> list[Scenario]:
    """The three comparisons, each request checked once by hand before wrk repeats it."""
    created = send(ours.url, tool("create_note", _note_fields(), token))
    note_id = created["structuredContent"]["id"]
    fixed = tool("fixed_note", {"note_id": FIXED.id})
    scenarios = [
        # Both answer it from the SDK alone (capabilities, server info): the cost of one request.
        Scenario("server/discover", discover(), discover(token)),
        Scenario(
            "get_note | fixed_note",
            fixed,
            tool("get_note", {"note_id": note_id}, token),
            floor=tool("read_note", {"note_id": note_id}),
        ),
        # The same query each time: after the first, ours answers from its Redis search cache
        # (SEARCH_CACHE_SECONDS, default 60 s), as it would a repeated search in production.
        Scenario("search_notes | fixed_note", fixed, tool("search_notes", {"query": "fox"}, token)),
    ]
    for scenario in scenarios:
        send(bare.url, scenario.bare)
        if scenario.floor is not None:
            send(floor.url, scenario.floor)
        result = send(ours.url, scenario.ours)
        if scenario.ours.params.get("name") == "search_notes" and not result["structuredContent"]["results"]:
            raise BenchError(f"search_notes found nothing, so the bench would time an empty search: {result}")
    return scenarios


def run(scenario: Scenario, bare: Server, floor: Server, ours: Server, config: Config, log: Path) -> Outcome:
    """A warm-up each, then bare, ours, bare, ours ... (bare, floor, ours where the scenario has
    a floor): alternating, so a slow patch on this shared machine hits every server rather than
    one."""
    outcome = Outcome(scenario.label, [], [])
    turns = [(bare, scenario.bare, outcome.bare)]
    if scenario.floor is not None:
        turns.append((floor, scenario.floor, outcome.floor))
    turns.append((ours, scenario.ours, outcome.ours))
    if config.warmup:
        for server, call, _ in turns:
            wrk(server, call, config.warmup, config.connections, log)
    for number in range(1, config.rounds + 1):
        for server, call, runs in turns:
            runs.append(wrk(server, call, config.seconds, config.connections, log))
            report.progress(scenario.label, number, server.name, call.describe(), runs[-1])
    return outcome


def _note_fields() -> dict[str, Any]:
    return {"title": FIXED.title, "body": FIXED.body, "tags": FIXED.tags}


def _interrupt(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
