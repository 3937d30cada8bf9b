"""The outermost layer: one JSON log line and one metrics sample per request, a request id on
every response, and a JSON-RPC error body on every refusal of an MCP request.

The SDK and Starlette refuse some requests before any JSON-RPC handling (401, 403, 413, 421,
400, 406, 405) with plain text or OAuth JSON. MCP clients parse JSON-RPC, so those bodies are
rewritten here; status and headers (WWW-Authenticate, Retry-After) stay as they were. An
exception that escapes everything becomes a JSON-RPC internal error without a stack trace.

It also bounds each MCP request before any work is done on it: the media type, a cap on
concurrent requests (503 + Retry-After past it), a deadline for the body, and the drain cut.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_notes.http.body import replay
from mcp_notes.http.drain import Drain
from mcp_notes.http.gate import Gate
from mcp_notes.http.request_info import CURRENT, KNOWN_METHODS, RequestInfo
from mcp_notes.logs import LineWriter
from mcp_notes.metrics import Metrics

log = logging.getLogger("mcp_notes.request")
request_log = LineWriter("mcp_notes.request")

PROBES = frozenset({"/health", "/ready", "/metrics"})
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Server-defined JSON-RPC codes for refusals that happen before a request is read.
HTTP_TO_RPC = {401: -32001, 403: -32003, 429: -32029, 404: -32601, 405: -32601}
Header = tuple[bytes, bytes]
INTERNAL_ERROR = -32603  # every 5xx: the JSON-RPC code for a fault on our side
MESSAGES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable: send Accept: application/json, text/event-stream",
    413: "Request body too large",
    415: "Unsupported media type",
    421: "Host not allowed",
    408: "Request body not received in time",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable; retry later",
}


class ClientGone(Exception):
    """The connection closed before the whole body arrived: the client left, or the body
    deadline (http/protocol.py) passed and the client already got its 408."""


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        mcp: ASGIApp,
        metrics: Metrics,
        known_tools: frozenset[str],
        *,
        gate: Gate,
        drain: Drain,
        max_body: int,
        mcp_path: str = "/mcp",
    ) -> None:
        self.app = app  # probes, metrics, metadata; and the lifespan
        self.mcp = mcp  # straight to the MCP pipeline: no router in between
        self.metrics = metrics
        self.known_tools = known_tools
        self.gate = gate
        self.drain = drain
        self.max_body = max_body
        self.mcp_path = mcp_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(request_id=_request_id(scope))
        token = CURRENT.set(info)
        started = time.perf_counter()
        is_mcp = scope["path"].rstrip("/") == self.mcp_path
        response = _Response(send, info.request_id, rewrite=is_mcp, info=info)
        try:
            if is_mcp:
                await self._mcp(scope, receive, response)
            else:  # probes and metadata: never queued behind MCP requests
                await self.app(scope, receive, response.send)
        except Exception:
            log.exception("unhandled error", extra={"request_id": info.request_id})
            if not response.started:
                await response.error(500)
        finally:
            CURRENT.reset(token)
            self._record(scope, info, response.status, time.perf_counter() - started, is_mcp)

    async def _mcp(self, scope: Scope, receive: Receive, response: _Response) -> None:
        if scope["method"] == "POST" and not _is_json(scope):
            await response.error(415)
            return
        if not await self.gate.enter():
            response.info.unavailable, response.info.retry_after_seconds = "capacity", 1
            await response.error(503, "Server busy: too many requests in flight; retry shortly")
            return
        task = self.drain.track()
        try:
            if scope["method"] == "POST":
                receive = await self._read_body(scope, receive)
            await self.mcp(scope, receive, response.send)
        except ClientGone:
            response.status, response.info.outcome = 408, "incomplete_body"
        except asyncio.CancelledError:
            if not self.drain.cutting:
                raise  # not ours: the client left or the server is stopping hard
            if not response.started:
                response.info.unavailable, response.info.retry_after_seconds = "shutdown", 1
                await response.error(503, "The server is shutting down; retry on another replica")
        finally:
            self.drain.untrack(task)
            self.gate.leave()

    async def _read_body(self, scope: Scope, receive: Receive) -> Receive:
        """Read the body (up to one byte past the limit) here, so that a client gone mid-body
        ends the request quietly instead of in the SDK's error handler, as a 500 with a
        traceback. The layers inside get it replayed; past the limit they read on and
        answer 413. The time it may take is bounded by the protocol (http/protocol.py)."""
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= self.max_body:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientGone
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
        return replay(scope, b"".join(chunks), more, self.max_body, receive)

    def _record(self, scope: Scope, info: RequestInfo, status: int, seconds: float, is_mcp: bool) -> None:
        if is_mcp:
            if not info.outcome:
                info.outcome = "ok" if status < 400 else f"http_{status}"
            if status == 401 and not info.auth_failure:
                info.auth_failure = "invalid" if _has_bearer(scope) else "missing_token"
            if info.auth_failure:
                self.metrics.auth_failures.labels(info.auth_failure).inc()
            if status == 429:
                self.metrics.rate_limited.inc()
            # Labels must not be whatever a client typed: unknown names collapse to one value.
            method = info.method if info.method in KNOWN_METHODS else ("other" if info.method else "-")
            tool = info.tool if info.tool in self.known_tools else ("unknown" if info.tool else "")
            self.metrics.count(method, tool, info.outcome, seconds)
        request_log.write(
            logging.DEBUG if scope["path"] in PROBES else logging.INFO,
            "request",
            {
                "request_id": info.request_id,
                "http_method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "subject": info.subject or None,
                "method": info.method or None,
                "tool": info.tool or None,
                "outcome": info.outcome or None,
                "rpc_code": info.rpc_code,
                "auth_failure": info.auth_failure or None,
            },
        )


class _Response:
    """Wraps `send`: notes the status, adds X-Request-Id, rewrites non-JSON-RPC refusals, and
    turns an answer that a missing dependency spoiled into 503 with Retry-After."""

    def __init__(self, send: Send, request_id: str, *, rewrite: bool, info: RequestInfo) -> None:
        self._send = send
        self._request_id = request_id
        self._rewrite = rewrite
        self.info = info
        self._held: Message | None = None
        self._body = b""
        self.status = 500
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            headers = [*message.get("headers", []), (b"x-request-id", self._request_id.encode())]
            if self.info.retry_after_seconds:
                headers.append((b"retry-after", str(self.info.retry_after_seconds).encode()))
            status = 503 if self.info.unavailable else message["status"]
            self.status = status
            message = {**message, "status": status, "headers": headers}
            if self._rewrite and self.status >= 400 and not self.info.unavailable:
                self._held = message  # wait for the body, then decide
                return
            await self._send(message)
            return
        if message["type"] == "http.response.body" and self._held is not None:
            self._body += message.get("body", b"")
            if message.get("more_body", False):
                return
            await self._send_rewritten()
            return
        await self._send(message)

    async def _send_rewritten(self) -> None:
        assert self._held is not None
        original = _json_or_none(self._body)
        if isinstance(original, dict) and original.get("jsonrpc") == "2.0":
            sdk_error = original.get("error")
            if isinstance(sdk_error, dict) and isinstance(sdk_error.get("code"), int):
                self.info.outcome, self.info.rpc_code = "rpc_error", sdk_error["code"]
            await self._send(self._held)  # already a JSON-RPC error: leave it be
            await self._send({"type": "http.response.body", "body": self._body})
            return
        status = self._held["status"]
        message = MESSAGES.get(status, "Request refused")
        error: dict[str, Any] = {"code": _rpc_code(status), "message": message}
        if isinstance(original, dict):  # an OAuth error body: keep its fields as data
            error["data"] = {k: v for k, v in original.items() if k in ("error", "error_description")}
        elif detail := self._body.decode(errors="replace").strip()[:200]:
            error["data"] = {"detail": detail}
        await self._send_json(status, error, self._held["headers"])

    async def error(self, status: int, message: str | None = None) -> None:
        """Answer with a JSON-RPC error of our own (nothing was sent yet)."""
        self.status = status
        self.info.outcome = self.info.outcome or f"http_{status}"
        error: dict[str, Any] = {"code": _rpc_code(status), "message": message or MESSAGES.get(status, "")}
        headers = [(b"x-request-id", self._request_id.encode())]
        if self.info.retry_after_seconds:
            error["data"] = {"retryable": True, "retry_after_seconds": self.info.retry_after_seconds}
            headers.append((b"retry-after", str(self.info.retry_after_seconds).encode()))
        if status >= 500 or status == 408:
            headers.append((b"connection", b"close"))
        self.started = True
        await self._send_json(status, error, headers)

    async def _send_json(self, status: int, error: dict[str, Any], headers: list[Header]) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
        kept = [(k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-length")]
        raw = [*kept, (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body})


def _rpc_code(status: int) -> int:
    return INTERNAL_ERROR if status >= 500 else HTTP_TO_RPC.get(status, -32600)


def _is_json(scope: Scope) -> bool:
    """The media type must be exactly application/json (parameters such as charset allowed):
    a prefix check would take application/jsonx."""
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def _request_id(scope: Scope) -> str:
    """Keep a sane X-Request-Id from the load balancer, so logs join up; else make one."""
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            text = value.decode(errors="replace")
            if REQUEST_ID.match(text):
                return text
    # Unique without a syscall per request: a random prefix per process, then a counter.
    return f"{_ID_PREFIX}{next(_ID_COUNTER):x}"


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _has_bearer(scope: Scope) -> bool:
    return any(k == b"authorization" for k, _ in scope.get("headers", []))
