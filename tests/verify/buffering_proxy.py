"""A reverse proxy that buffers every response to its end before sending any of it, as some
serverless fronts and API gateways do: the upstream is asked over HTTP/1.0 (so it answers
unchunked and closes), and the client gets the whole answer at once with a Content-Length."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.server.issuer import free_port

DROPPED = (b"connection", b"transfer-encoding", b"content-length", b"keep-alive")


@contextmanager
def buffering_proxy(upstream_port: int) -> Iterator[int]:
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        up_writer: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in lines
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            body = await reader.readexactly(length) if length else b""
            method, target, _ = lines[0].split(b" ", 2)
            kept = [line for line in lines[1:] if line and not line.lower().startswith(DROPPED)]
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
            request = b"\r\n".join([method + b" " + target + b" HTTP/1.0", *kept])
            request += b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            up_writer.write(request)
            answer = await up_reader.read()  # to the end: the buffering under test
            up_head, _, up_body = answer.partition(b"\r\n\r\n")
            up_lines = up_head.split(b"\r\n")
            status = up_lines[0].replace(b"HTTP/1.0", b"HTTP/1.1", 1)
            headers = [line for line in up_lines[1:] if not line.lower().startswith(DROPPED)]
            writer.write(
                b"\r\n".join(
                    [status, *headers, b"content-length: " + str(len(up_body)).encode(), b"connection: close"]
                )
                + b"\r\n\r\n"
                + up_body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if up_writer is not None:
                up_writer.close()
            writer.close()
            handlers.discard(task)

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await stop.wait()
            # A stream that never ends is still being buffered: give it up.
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

    def run() -> None:
        loop.run_until_complete(serve())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
