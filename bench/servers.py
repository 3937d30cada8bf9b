"""The two servers as child processes, and the services ours needs: a fresh database, a Redis
key prefix of its own, an OAuth issuer on loopback. Every context manager here undoes what it
did, also on Ctrl-C or an error."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from redis import Redis

from bench import BenchError
from bench.calls import discover, send
from tests.server.issuer import free_port

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://mcp.bench.example/mcp"  # ours' MCP_PUBLIC_URL, so the token's audience
START_TIMEOUT = 30.0


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    ready_seconds: float  # spawn to the first good answer
    path: str = "/mcp"  # where it serves MCP: /<route>/mcp through the gateway

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}"

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (/proc/<pid>/stat, clock ticks)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident memory now, from /proc (0 once the process is gone)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
        return int(line.split()[1])

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def ours_env(issuer_url: str, database_url: str, redis_url: str, redis_prefix: str) -> dict[str, str]:
    """Production mode, as tests/server/server_process.py runs it, on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "MCP_", "DATABASE_", "REDIS_"))}
    return env | {
        "MCP_HOST": "127.0.0.1",
        "MCP_PUBLIC_URL": PUBLIC_URL,
        "MCP_REQUEST_STATE_KEY": secrets.token_hex(32),
        "AUTH_ISSUER": issuer_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": redis_prefix,
        # The most allowed: a per-subject budget of 100000 at once, then ~1666/s. The bench uses
        # one subject, so a server far past that would get 429s, and the bench would say so.
        "RATE_LIMIT_PER_MINUTE": "100000",
        "LOG_LEVEL": "INFO",
        "DRAIN_SECONDS": "5",
    }


@contextmanager
def ours(env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """`python -m mcp_notes serve`; ready at the first 200 on /ready (Postgres and Redis answer)."""

    def ready(base: str) -> bool:
        return httpx.get(f"{base}/ready", timeout=2).status_code == 200

    with _running("ours", [sys.executable, "-m", "mcp_notes", "serve"], env, log_path, ready) as server:
        yield server


def bare(env: dict[str, str], log_path: Path) -> contextlib.AbstractContextManager[Server]:
    """bench/bare_server.py, given ours' environment so that its uvicorn and transport settings
    are ours."""
    return _sdk_server("bare", "bench.bare_server", env, log_path)


def floor(env: dict[str, str], log_path: Path) -> contextlib.AbstractContextManager[Server]:
    """bench/floor_server.py: the bare server plus one Postgres read (ours' database and query)."""
    return _sdk_server("floor", "bench.floor_server", env, log_path)


@contextmanager
def _sdk_server(name: str, module: str, env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """A bare SDK server: ready at the first good server/discover (it has no /ready)."""

    def ready(base: str) -> bool:
        send(f"{base}/mcp", discover())
        return True

    with _running(name, [sys.executable, "-m", module], env, log_path, ready) as server:
        yield server


GATEWAY_PYTHON = ROOT / "gateway" / ".venv" / "bin" / "python"


@contextmanager
def gateway(upstream: Server, log_path: Path) -> Iterator[Server]:
    """mcp-gateway in front of `upstream` (route `bare`), as `make dev` runs it: auth off, limits
    in process (set past what the bench sends), one uvicorn worker like the servers."""
    if not GATEWAY_PYTHON.exists():
        raise BenchError(f"{GATEWAY_PYTHON} is missing: run `make venv` first")
    port = free_port()
    routes = {"bare": {"upstream": upstream.base, "path": "/mcp", "scopes": []}}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "GATEWAY_", "REDIS_"))} | {
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_ROUTES": json.dumps(routes),
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "DRAIN_SECONDS": "5",
    }

    def ready(base: str) -> bool:
        return httpx.get(f"{base}/ready", timeout=2).status_code == 200

    with log_path.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(GATEWAY_PYTHON), "-m", "mcp_gateway", "serve"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            server = Server("gateway", port, process, log_path, 0.0, path="/bare/mcp")
            server.ready_seconds = _wait_ready(server, ready) - started
            yield server
        finally:
            _stop(process)


def migrate(env: dict[str, str], log_path: Path) -> None:
    """Schema first, so every timed start finds the database as a rolling deploy would."""
    with log_path.open("ab") as log:
        done = subprocess.run(
            [sys.executable, "-m", "mcp_notes", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        raise BenchError(f"mcp_notes migrate failed (exit {done.returncode}); see {log_path}")


@contextmanager
def _running(
    name: str, command: list[str], env: dict[str, str], log_path: Path, ready: Callable[[str], bool]
) -> Iterator[Server]:
    port = free_port()
    with log_path.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env=env | {"MCP_PORT": str(port)},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the bench, which then stops it in order
            preexec_fn=_die_with_parent,
        )
        try:
            server = Server(name, port, process, log_path, 0.0)
            server.ready_seconds = _wait_ready(server, ready) - started
            yield server
        finally:
            _stop(process)


def _wait_ready(server: Server, ready: Callable[[str], bool]) -> float:
    deadline = time.perf_counter() + START_TIMEOUT
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited at start:\n{server.log_tail()}")
        try:
            if ready(server.base):
                return time.perf_counter()
        except (httpx.HTTPError, BenchError):
            pass
        time.sleep(0.02)
    raise BenchError(f"{server.name} not ready within {START_TIMEOUT:g} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # graceful: uvicorn drains, the lifespan closes pools
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the bench dies, even by SIGKILL (Linux prctl)."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new database on the shared Postgres, dropped on the way out (WITH FORCE)."""
    name = f"mcp_bench_{secrets.token_hex(6)}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(admin_url: str, statement: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(admin_url, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(run())
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        raise BenchError(f"Postgres at {admin_url}: {error}") from error


@contextmanager
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no one else uses; its keys (rate limits, search cache) deleted at the end.
    Redis is shared: never FLUSHDB, only our own keys."""
    prefix = f"mcp-bench:{secrets.token_hex(6)}:"
    client = Redis.from_url(redis_url, socket_timeout=5)
    try:
        client.ping()
    except Exception as error:  # any failure here means "no Redis"
        raise BenchError(f"Redis at {redis_url}: {error}") from error
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
        client.close()
