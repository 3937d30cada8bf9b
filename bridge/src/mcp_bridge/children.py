"""Every child process the bridge runs: the warm pool and the sticky sessions' own children.

- The pool keeps BRIDGE_POOL_SIZE initialized children; a child that exits, breaks or times out
  is replaced (with a growing pause while children keep failing to start, so a broken command
  does not spin). Stateless requests go to the pool child with the fewest requests in flight.
- A sticky session takes an idle pool child (the pool refills) or starts its own; it keeps a
  child until DELETE or BRIDGE_IDLE_SECONDS without a request. A session whose child died gets
  a new one on its next request (the server's state for it is lost; the session lives on).
- BRIDGE_MAX_PROCESSES bounds them all: a session is admitted only while the pool can still be
  kept full beside it, so sessions never starve the stateless (2026-07-28) requests."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import anyio
import anyio.abc
import mcp_types as types

from mcp_bridge.child import Child, ChildGone
from mcp_bridge.metrics import BridgeMetrics

log = logging.getLogger("mcp_bridge")


class Unavailable(Exception):
    """No child could take the request in time (none started, or the bridge is closing)."""


@dataclass
class Session:
    id: str
    child: Child | None = None
    active: int = 0  # HTTP requests of this session in progress (a GET stream counts)
    last_seen: float = field(default_factory=time.monotonic)
    ended: bool = False


class Children:
    def __init__(
        self,
        server: str,
        argv: list[str],
        env: Mapping[str, str],
        metrics: BridgeMetrics,
        *,
        pool_size: int,
        max_processes: int,
        start_seconds: float,
        idle_seconds: float,
    ) -> None:
        self.server = server
        self.argv = argv
        self.env = dict(env)
        self.metrics = metrics
        self.pool_size = pool_size
        self.max_processes = max_processes
        self.start_seconds = start_seconds
        self.idle_seconds = idle_seconds
        self.pool: list[Child] = []  # ready or starting, for stateless requests
        self.sessions: dict[str, Session] = {}
        self.live: set[Child] = set()  # every child not yet reaped
        self.first_ready = anyio.Event()
        self.first_result: types.InitializeResult | None = None  # what the bridge announces
        self.closing = False
        self._pending_sessions = 0  # admitted, child not yet bound
        self._changed = anyio.Event()
        self._tg: anyio.abc.TaskGroup | None = None
        self._failures = 0

    # --- lifecycle -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._keep_pool)
            tg.start_soon(self._reap_idle)
            try:
                yield
            finally:
                await self.close()
                tg.cancel_scope.cancel()

    async def close(self) -> None:
        """Stop every child (stdin closed, SIGTERM to its group, SIGKILL after a grace) and wait."""
        self.closing = True
        self._notify()
        for child in list(self.live):
            child.stop("shutdown")
        with anyio.CancelScope(shield=True), anyio.move_on_after(15):
            while self.live:
                await self._wait_change(0.1)

    def snapshot(self) -> list[tuple[str, int]]:
        owned = {s.child for s in self.sessions.values() if s.child is not None}
        out = []
        for child in self.live:
            state = child.state
            if state == "ready":
                state = "session" if child in owned else ("busy" if child.in_flight else "ready")
            out.append((state, child.pid))
        return out

    @property
    def ready(self) -> bool:
        return not self.closing and any(c.state == "ready" for c in self.pool)

    # --- stateless requests ----------------------------------------------------------------

    async def pick(self) -> Child:
        """The pool child with the fewest requests in flight, waiting for one to be ready."""
        with anyio.move_on_after(self.start_seconds):
            while not self.closing:
                ready = [c for c in self.pool if c.state == "ready"]
                if ready:
                    return min(ready, key=lambda c: c.in_flight)
                await self._wait_change(1.0)
        raise Unavailable("no server process is ready")

    # --- sticky sessions -------------------------------------------------------------------

    def admit(self) -> bool:
        """Whether a new session may start now; if so its slot is held until bind/release."""
        if self.closing:
            return False
        sessions = len(self.sessions) + self._pending_sessions
        if sessions + 1 + self.pool_size > self.max_processes:
            return False
        self._pending_sessions += 1
        return True

    async def take(self) -> Child:
        """A child for an admitted session: an idle pool child, else a new one."""
        try:
            idle = [c for c in self.pool if c.state == "ready" and c.in_flight == 0]
            if idle:
                child = idle[0]
                self.pool.remove(child)
                self._notify()  # the pool refills
                return child
            return await self._start_dedicated()
        except BaseException:
            self._pending_sessions -= 1
            raise

    def bind(self, session_id: str, child: Child) -> Session:
        self._pending_sessions -= 1
        session = Session(session_id, child)
        self.sessions[session_id] = session
        return session

    def release(self, child: Child) -> None:
        """An admitted session that never came to be (its initialize failed)."""
        self._pending_sessions -= 1
        child.stop("session_refused")

    def end(self, session: Session, reason: str) -> None:
        session.ended = True
        self.sessions.pop(session.id, None)
        if session.child is not None:
            session.child.stop(reason)
            session.child = None
        self._notify()

    async def session_child(self, session: Session) -> Child:
        """The session's child, replaced if it died since the last request."""
        child = session.child
        if child is not None and child.state == "ready":
            return child
        if child is not None and child.state in ("starting",):
            with anyio.move_on_after(self.start_seconds):
                await child.ready.wait()
            if child.state == "ready":
                return child
        session.child = None
        replacement = await self._start_dedicated()
        if session.ended:
            replacement.stop("session_deleted")
            raise Unavailable("the session ended")
        session.child = replacement
        return replacement

    # --- internals -------------------------------------------------------------------------

    async def _start_dedicated(self) -> Child:
        # Ended sessions' children take a moment to exit (SIGTERM, then SIGKILL after a grace):
        # wait for them rather than run more than BRIDGE_MAX_PROCESSES at once.
        with anyio.move_on_after(self.start_seconds):
            while not self.closing and len(self.live) >= self.max_processes:
                await self._wait_change(0.5)
        if self.closing:
            raise Unavailable("the bridge is shutting down")
        if len(self.live) >= self.max_processes:
            raise Unavailable("every server process is in use")
        child = self._spawn()  # no await since the check: no other task can spawn in between
        with anyio.move_on_after(self.start_seconds + 1):
            await _first(child.ready, child.gone)
        if child.state != "ready":
            child.kill("start_timeout")
            raise Unavailable("the server process did not start")
        return child

    def _spawn(self) -> Child:
        assert self._tg is not None
        child = Child(self.server, self.argv, self.env)
        self.live.add(child)
        self.metrics.child_starts.labels(self.server).inc()
        self._tg.start_soon(self._run, child)
        return child

    async def _run(self, child: Child) -> None:
        try:
            await child.run(self.start_seconds)
        except ChildGone as error:
            log.warning("child failed", extra={"server": self.server, "pid": child.pid, "error": str(error)})
        except Exception:
            log.exception("child crashed the bridge's handling of it", extra={"server": self.server})
            child.kill("bridge_error")
        finally:
            self.live.discard(child)
            if child in self.pool:
                self.pool.remove(child)
            self.metrics.child_exits.labels(self.server, child.exit_reason or "exited").inc()
            for session in self.sessions.values():
                if session.child is child:
                    session.child = None  # replaced on the session's next request
            self._notify()

    async def _keep_pool(self) -> None:
        while not self.closing:
            missing = self.pool_size - len(self.pool)
            room = self.max_processes - len(self.live)
            for _ in range(max(0, min(missing, room))):
                child = self._spawn()
                self.pool.append(child)
                self._watch_start(child)
            await self._wait_change(5.0)
            if self._failures:
                await anyio.sleep(min(0.5 * 2 ** min(self._failures, 6), 30))

    def _watch_start(self, child: Child) -> None:
        assert self._tg is not None

        async def watch() -> None:
            await _first(child.ready, child.gone)
            if child.state == "ready":
                self._failures = 0
                if self.first_result is None:
                    self.first_result = child.initialize_result
                self.first_ready.set()
            else:
                self._failures += 1
            self._notify()

        self._tg.start_soon(watch)

    async def _reap_idle(self) -> None:
        period = min(max(self.idle_seconds / 4, 0.05), 5.0)
        while True:
            await anyio.sleep(period)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                child = session.child
                busy = session.active > 0 or (child is not None and child.in_flight > 0)
                if not busy and now - session.last_seen > self.idle_seconds:
                    log.info("session idle", extra={"server": self.server, "session": session.id[:12]})
                    self.end(session, "idle")

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def _wait_change(self, at_most: float) -> None:
        with anyio.move_on_after(at_most):
            await self._changed.wait()


async def _first(*events: anyio.Event) -> None:
    async with anyio.create_task_group() as tg:
        for event in events:

            async def wait(e: anyio.Event = event) -> None:
                await e.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(wait)
