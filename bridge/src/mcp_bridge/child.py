"""One stdio MCP server process and the SDK client session that talks to it.

Spawned with anyio rather than `mcp.client.stdio.stdio_client`: that helper hides the process,
and the bridge needs its pid (logs, metrics, tests), its stderr line by line (to the JSON log),
and to kill it at once when a request to it times out (it may be hung, so closing stdin and
waiting would not do). The framing is the SDK's own (one JSON-RPC message per line, parsed by
mcp_types' adapter); the protocol is the SDK's ClientSession; the group kill is the SDK's
(SIGTERM to the process group, SIGKILL after a grace)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.abc
import mcp_types as types
from anyio.streams.text import TextReceiveStream
from mcp import ClientSession
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT
from pydantic import BaseModel

log = logging.getLogger("mcp_bridge.child")

# The child's grace after SIGTERM to its group before SIGKILL.
KILL_GRACE_SECONDS = 3.0
# Longest stderr line kept in one log entry: a child cannot flood the log pipeline.
STDERR_LINE_MAX = 4096


CLIENT_INFO = types.Implementation(name="mcp-bridge", version="0.1.0")

# The request and result models of each method the bridge forwards: the SDK builds and stamps
# the request, checks the child's result against the protocol, and the typed result is what the
# server side reshapes for the caller's protocol version (2026-07-28 wants fields 2025 lacks).
METHODS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "tools/list": (types.ListToolsRequest, types.ListToolsResult),
    "tools/call": (types.CallToolRequest, types.CallToolResult),
    "resources/list": (types.ListResourcesRequest, types.ListResourcesResult),
    "resources/templates/list": (types.ListResourceTemplatesRequest, types.ListResourceTemplatesResult),
    "resources/read": (types.ReadResourceRequest, types.ReadResourceResult),
    "prompts/list": (types.ListPromptsRequest, types.ListPromptsResult),
    "prompts/get": (types.GetPromptRequest, types.GetPromptResult),
    "completion/complete": (types.CompleteRequest, types.CompleteResult),
}


class ChildGone(Exception):
    """The child exited or broke; the request did not get an answer."""


class Child:
    def __init__(self, server: str, argv: list[str], env: Mapping[str, str]) -> None:
        self.server = server
        self.argv = argv
        self.env = dict(env)
        self.pid = 0
        self.in_flight = 0
        self.state = "starting"  # starting, ready, stopping, exited
        self.exit_reason = ""
        self.last_used = time.monotonic()
        self.initialize_result: types.InitializeResult | None = None
        self.gone = anyio.Event()
        self.ready = anyio.Event()
        self._process: anyio.abc.Process | None = None
        self._session: ClientSession | None = None
        self._stop = anyio.Event()

    async def run(self, start_seconds: float) -> None:
        """Spawn, initialize (within start_seconds), report ready, then serve until stopped or the
        child exits; always ends with the whole process group dead and reaped."""
        try:
            self._process = await anyio.open_process(
                self.argv,
                env=self.env,
                start_new_session=True,  # its own group: npx, shells and their children die with it
            )
        except OSError as error:
            self._ended("spawn_failed")
            log.error("child did not start", extra={"server": self.server, "error": str(error)})
            raise ChildGone(f"cannot start {self.argv[0]}: {error.strerror}") from None
        self.pid = self._process.pid
        log.info("child started", extra={"server": self.server, "pid": self.pid, "argv": self.argv[:3]})
        started = False
        try:
            async with anyio.create_task_group() as tg:
                read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](16)
                write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](16)
                tg.start_soon(self._read_stdout, read_writer)
                tg.start_soon(self._write_stdin, write_reader)
                tg.start_soon(self._read_stderr)
                tg.start_soon(self._watch_exit, tg.cancel_scope)
                async with ClientSession(read_stream, write_stream, client_info=CLIENT_INFO) as session:
                    with anyio.fail_after(start_seconds):
                        self.initialize_result = await session.initialize()
                    self._session = session
                    self.state = "ready"
                    started = True
                    self.ready.set()
                    await self._stop.wait()
                tg.cancel_scope.cancel()
        except TimeoutError:
            self.exit_reason = self.exit_reason or "start_timeout"
        except MCPError as error:
            self.exit_reason = self.exit_reason or "start_failed"
            log.warning(
                "child refused initialize",
                extra={"server": self.server, "pid": self.pid, "error": error.error.message[:200]},
            )
        finally:
            self._session = None
            with anyio.CancelScope(shield=True):
                await self._reap()
            self._ended(self.exit_reason or ("exited" if started else "start_failed"))
        if not started:
            raise ChildGone(f"{self.server} did not initialize ({self.exit_reason})")

    async def request(
        self, method: str, params: dict[str, Any] | None, seconds: float, on_progress: Any = None
    ) -> BaseModel:
        """Forward one request; the child's result, or MCPError (the child's own error, a timeout
        after which this child is killed, or the child gone)."""
        session = self._session
        if session is None or self.state != "ready":
            raise ChildGone("child not ready")
        request_type, result_type = METHODS[method]
        request = request_type.model_validate({"method": method, "params": params}, by_name=False)
        self.in_flight += 1
        self.last_used = time.monotonic()
        try:
            with anyio.move_on_after(seconds) as scope:
                return await session.send_request(request, result_type, progress_callback=on_progress)  # type: ignore[arg-type]
        except MCPError as error:
            if error.code == CONNECTION_CLOSED or self.gone.is_set():
                raise ChildGone(error.error.message) from None
            raise
        finally:
            self.in_flight -= 1
            self.last_used = time.monotonic()
        # Timed out: it may be hung, and a hung child would take every later request with it.
        assert scope.cancelled_caught
        self.kill("request_timeout")
        raise MCPError(code=REQUEST_TIMEOUT, message=f"The server did not answer within {seconds:g} s")

    def stop(self, reason: str = "stopped") -> None:
        """Close it gracefully: stdin closed, then SIGTERM to the group, SIGKILL after a grace."""
        if self.state in ("starting", "ready"):
            self.state = "stopping"
            self.exit_reason = self.exit_reason or reason
        self._stop.set()

    def kill(self, reason: str) -> None:
        """At once: SIGKILL to the whole group (it is hung or misbehaving)."""
        self.exit_reason = self.exit_reason or reason
        self.state = "stopping" if self.state != "exited" else self.state
        if self.pid and self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        self._stop.set()

    async def _read_stdout(self, writer: Any) -> None:
        assert self._process is not None and self._process.stdout is not None
        async with writer:
            buffer = ""
            with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                async for chunk in TextReceiveStream(self._process.stdout, errors="replace"):
                    lines = (buffer + chunk).split("\n")
                    buffer = lines.pop()
                    for line in lines:
                        if not line.strip():
                            continue
                        try:
                            message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                        except ValueError:
                            # Stdout is the protocol only; a stray print is the child's bug, not ours.
                            log.warning(
                                "child wrote a non-JSON-RPC line to stdout",
                                extra={"server": self.server, "pid": self.pid, "line": line[:200]},
                            )
                            continue
                        await writer.send(SessionMessage(message))
        # EOF on stdout: the child is gone (or closed its end); requests waiting on it must fail.
        self.exit_reason = self.exit_reason or "exited"
        self.gone.set()
        self._stop.set()

    async def _write_stdin(self, reader: Any) -> None:
        assert self._process is not None and self._process.stdin is not None
        stdin = self._process.stdin
        try:
            async with reader:
                async for message in reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await stdin.send(data.encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            self.exit_reason = self.exit_reason or "broken_pipe"
            self._stop.set()

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        buffer = ""
        with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            async for chunk in TextReceiveStream(self._process.stderr, errors="replace"):
                lines = (buffer + chunk).split("\n")
                buffer = lines.pop()
                if len(buffer) > STDERR_LINE_MAX:
                    lines.append(buffer)
                    buffer = ""
                for line in lines:
                    self._log_stderr(line)
        if buffer:
            self._log_stderr(buffer)

    def _log_stderr(self, line: str) -> None:
        if line.strip():
            log.info(
                line[:STDERR_LINE_MAX].rstrip(),
                extra={"server": self.server, "pid": self.pid, "stream": "stderr"},
            )

    async def _watch_exit(self, scope: anyio.CancelScope) -> None:
        assert self._process is not None
        # Polled: process.wait() also waits for the pipes to close, which a grandchild holding
        # them open would delay past the child's own death.
        while self._process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(0.2)
        self.exit_reason = self.exit_reason or "exited"
        self.gone.set()
        self._stop.set()

    async def _reap(self) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await process.stdin.aclose()
        # Its stdin closed, a well-behaved server exits by itself; give it a moment, then the group.
        with anyio.move_on_after(1.0):
            while process.returncode is None:  # noqa: ASYNC110 - as in _watch_exit
                await anyio.sleep(0.02)
        if _group_alive(self.pid):
            await terminate_posix_process_tree(process, KILL_GRACE_SECONDS)
        with anyio.move_on_after(KILL_GRACE_SECONDS):
            await process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await stream.aclose()

    def _ended(self, reason: str) -> None:
        self.exit_reason = reason
        self.state = "exited"
        self.gone.set()
        code = self._process.returncode if self._process is not None else None
        log.info(
            "child exited",
            extra={"server": self.server, "pid": self.pid, "reason": reason, "returncode": code},
        )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
