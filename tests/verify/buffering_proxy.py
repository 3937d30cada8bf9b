"""A reverse proxy that buffers every response to its end before sending any of it, as some
serverless fronts and API gateways do: the upstream is asked over HTTP/1.0 (so it answers
unchunked and closes), and the client gets the whole answer at once with a Content-Length."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from tests.verify.threaded_listener import threaded_listener

DROPPED = (b"connection", b"transfer-encoding", b"content-length", b"keep-alive")


@contextmanager
def buffering_proxy(upstream_port: int) -> Iterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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

    with threaded_listener(handle) as port:  # a stream that never ends is given up at the end
        yield port
