"""Routes with `"auth": "google-id-token"` (Cloud Run servers with invoker auth): the gateway
asks the metadata server for an ID token whose audience is the upstream's URL, sends it as
X-Serverless-Authorization, and answers a clean 502 when it cannot get one. A fake metadata
server on loopback stands in for Google's (GCE_METADATA_HOST, as Google's libraries read)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from tests.gateway.processes import gateway_env, running_gateway, running_upstream
from tests.server.issuer import free_port

ACCEPT = {"accept": "application/json, text/event-stream"}
CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "echo", "arguments": {"text": "hi"}},
}


@contextmanager
def metadata_server(failing: bool = False) -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            if failing or self.headers.get("Metadata-Flavor") != "Google":
                self.send_response(500)
                self.end_headers()
                return
            audience = query["audience"][0]
            asked.append(audience)
            # Shaped like Google's ID token; not signed by anything real (Cloud Run checks it there).
            token = jwt.encode(
                {"aud": audience, "exp": int(time.time()) + 3600}, "fake-metadata-key-0123456789abcdef"
            )
            body = token.encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()


def test_the_upstream_gets_an_id_token_for_its_own_url_once_per_hour() -> None:
    with metadata_server() as (host, asked), running_upstream("plain") as plain:
        port = free_port()
        upstream = f"http://127.0.0.1:{plain.port}"
        routes = {"plain": {"upstream": upstream, "scopes": [], "auth": "google-id-token"}}
        with running_gateway(gateway_env(port, routes, GCE_METADATA_HOST=host)) as gateway:
            for _ in range(3):
                response = httpx.post(f"{gateway.base}/plain/mcp", json=CALL, headers=ACCEPT, timeout=10)
                assert response.status_code == 200
        sent = plain_seen_tokens(plain.seen())
    assert len(sent) == 3
    assert {jwt.decode(t, options={"verify_signature": False})["aud"] for t in sent} == {upstream}
    assert asked == [upstream]  # fetched once, then reused


def test_no_id_token_is_a_clean_502() -> None:
    with metadata_server(failing=True) as (host, _), running_upstream("plain") as plain:
        port = free_port()
        routes = {
            "plain": {"upstream": f"http://127.0.0.1:{plain.port}", "scopes": [], "auth": "google-id-token"}
        }
        with running_gateway(gateway_env(port, routes, GCE_METADATA_HOST=host)) as gateway:
            response = httpx.post(f"{gateway.base}/plain/mcp", json=CALL, headers=ACCEPT, timeout=10)
            assert response.status_code == 502
            assert response.json()["error"]["code"] == -32603
            posts = [entry for entry in plain.seen() if entry[":method"] == "POST"]
            assert posts == []  # nothing reached the server without credentials


def plain_seen_tokens(seen: list[dict[str, str]]) -> list[str]:
    return [
        entry["x-serverless-authorization"].removeprefix("Bearer ")
        for entry in seen
        if entry[":method"] == "POST"
    ]
