"""uvicorn's httptools protocol with deadlines for a request's headers and its body.

uvicorn bounds idle keep-alive connections, but not a request in progress: a client that sends
its headers, or its body, a byte at a time holds a slot for as long as it likes. Here the
headers must be complete within `HTTP_HEADER_TIMEOUT_SECONDS` of the connection opening (first
request) or of the request's first byte (later ones), and the body within
`HTTP_BODY_TIMEOUT_SECONDS` of the headers. Past either, the client gets 408 and the connection
is closed. Timing this here costs a timer per request; an asyncio.timeout around every read of
the body in the app cost several times more."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

HEADERS_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_BODY_ERROR = json.dumps(
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Request body not received in time"}}
).encode()
BODY_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(_BODY_ERROR)).encode() + b"\r\nconnection: close\r\n\r\n" + _BODY_ERROR
)


def with_deadlines(header_seconds: float, body_seconds: float) -> type[HttpToolsProtocol]:
    class DeadlineProtocol(HttpToolsProtocol):
        def __init__(self, config: Config, server_state: ServerState, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, server_state, *args, **kwargs)
            self._deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(header_seconds, HEADERS_TOO_SLOW)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:
                self._arm(header_seconds, HEADERS_TOO_SLOW)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            self._arm(body_seconds, BODY_TOO_SLOW)  # until on_message_complete, often at once

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float, answer: bytes) -> None:
            self._deadline = self.loop.call_later(seconds, self._too_slow, answer)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self, answer: bytes) -> None:
            self._deadline = None
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return  # closed already, or handed over (a WebSocket upgrade): not ours to time
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(answer)
            self.transport.close()  # the app, if reading, sees http.disconnect

    return DeadlineProtocol
