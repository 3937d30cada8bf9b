"""What a slow, odd or hostile HTTP client gets: deadlines for headers and body, keep-alive
longer than the load balancer's, deep JSON, unknown prompts. Each answer is a status a client
or proxy understands, never a 500 or a traceback."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.server.conftest import REDIS
from tests.server.issuer import Issuer
from tests.server.raw_rpc import META, MODERN, headers, send
from tests.server.server_process import PUBLIC_URL, ServerProcess, running_server, server_env


@pytest.fixture(scope="module")
def limited(issuer: Issuer, module_database: str) -> Iterator[ServerProcess]:
    env = server_env(
        issuer,
        module_database,
        REDIS,
        HTTP_HEADER_TIMEOUT_SECONDS="1",
        HTTP_BODY_TIMEOUT_SECONDS="1",
        RATE_LIMIT_PER_MINUTE="10000",
    )
    with running_server(env) as process:
        yield process


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def test_headers_that_never_finish_get_408_and_the_connection_closes(limited: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        answer = _read_all(sock, timeout=5)  # returns when the server closes
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert waited < 4, "closed by the header deadline, not by the client's timeout"


def test_an_idle_connection_before_any_request_is_closed_too(limited: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as sock:
        assert _read_all(sock, timeout=5).startswith(b"HTTP/1.1 408")


def test_a_body_that_never_finishes_gets_408_with_a_json_rpc_error(
    limited: ServerProcess, issuer: Issuer
) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "list_tags", "arguments": {}},
    }
    sent = headers(issuer.token(PUBLIC_URL), body) | {"content-length": "500", "host": "127.0.0.1"}
    head = "".join(f"{k}: {v}\r\n" for k, v in sent.items())
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as sock:
        sock.sendall(f"POST /mcp HTTP/1.1\r\n{head}\r\n".encode() + json.dumps(body).encode()[:20])
        answer = _read_all(sock, timeout=5)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 408"), answer
    payload = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert payload["error"]["message"] == "Request body not received in time"


async def test_keep_alive_outlasts_uvicorns_default(limited: ServerProcess, issuer: Issuer) -> None:
    """uvicorn closes idle connections after 5 s; a proxy with a longer idle timeout then reuses
    a closed one and answers 502. Ours stays open past that."""
    token = issuer.token(PUBLIC_URL)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as sock:
        for _ in range(2):
            host = f"127.0.0.1:{limited.port}"
            sent = headers(token, body) | {"host": host, "content-length": str(len(json.dumps(body)))}
            head = "".join(f"{k}: {v}\r\n" for k, v in sent.items())
            sock.sendall(f"POST /mcp HTTP/1.1\r\n{head}\r\n{json.dumps(body)}".encode())
            assert _read_response(sock).startswith(b"HTTP/1.1 200")
            await asyncio.sleep(6)
        sock.settimeout(1)
        sock.sendall(f"GET /health HTTP/1.1\r\nhost: 127.0.0.1:{limited.port}\r\n\r\n".encode())
        assert _read_response(sock).startswith(b"HTTP/1.1 200")


def _read_response(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b"(connection closed by the server)"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return b"(connection closed by the server)"
        rest += chunk
    return head


@pytest.mark.parametrize("protocol", [MODERN, "2025-11-25"])
@pytest.mark.parametrize("depth", [1000, 100_000])
async def test_deeply_nested_json_is_a_parse_error_not_a_500(
    limited: ServerProcess, issuer: Issuer, protocol: str, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    params = f'{{"name":"list_tags","arguments":{{"x":{nested}}}}}'
    raw = f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{params}}}'
    sent = headers(issuer.token(PUBLIC_URL), {"method": "tools/call"}) | {"mcp-protocol-version": protocol}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(limited.url, content=raw.encode(), headers=sent)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in (-32700, -32600)


async def test_an_unknown_prompt_is_invalid_params_logged_without_a_traceback(
    limited: ServerProcess, issuer: Issuer
) -> None:
    body = {"jsonrpc": "2.0", "id": 9, "method": "prompts/get", "params": {"name": "nope", "_meta": META}}
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await send(http, limited.url, issuer.token(PUBLIC_URL), body)
    assert answer.error is not None, answer
    assert answer.error["code"] == -32602, answer
    await asyncio.sleep(0.2)
    line = [e for e in limited.request_logs() if e.get("method") == "prompts/get"][-1]
    assert (line["rpc_code"], line["outcome"]) == (-32602, "rpc_error")


def test_no_request_here_produced_a_500_or_a_traceback(limited: ServerProcess) -> None:
    assert 500 not in [entry["status"] for entry in limited.request_logs()]
    assert not [line for line in limited.lines if "Traceback" in line]
