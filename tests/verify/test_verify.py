"""mcp-verify against real platforms on loopback: `make dev` with auth on and a local OpenID
provider passes every check that applies; a gateway whose public URL is not the one clients use,
and a proxy that buffers streams, fail with the check named."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server.issuer import Issuer, free_port, running_issuer
from tests.verify.buffering_proxy import buffering_proxy
from tests.verify.oidc_issuer import running_oidc_issuer
from tests.verify.platforms import (
    gateway_env,
    rows,
    run_verify,
    running_gateway,
    running_make_dev,
    running_notes,
)
from tests.verify.tls_front import make_certificates, tls_front


@dataclass
class Dev:
    url: str
    issuer: Issuer
    token: str


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    with running_oidc_issuer() as issuer:
        # One token for both routes: each route's audience is its own public URL.
        token = issuer.token(
            "http://127.0.0.1:8000/notes/mcp",
            aud=["http://127.0.0.1:8000/notes/mcp", "http://127.0.0.1:8000/time/mcp"],
        )
        log = tmp_path_factory.mktemp("dev") / "make-dev.log"
        with running_make_dev(issuer.url, token, log) as url:
            yield Dev(url, issuer, token)


def test_make_dev_with_auth_passes_every_check(dev: Dev) -> None:
    result = run_verify(dev.url, "--routes", "notes,time", token=dev.token)
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    verdicts = {key: verdict for key, (verdict, _) in table.items()}
    for route in ("notes", "time"):
        for check in (
            "challenge",
            "metadata-resource",
            "metadata-scopes",
            "auth-server",
            "stream",
            "nosniff",
        ):
            assert verdicts[(check, route)] == "PASS", (check, route, result.stdout)
        # http://127.0.0.1: nothing to say about TLS, and saying so rather than passing it.
        assert verdicts[("http-redirect", route)] == "N/A"
        assert verdicts[("hsts", route)] == "N/A"
    assert verdicts[("tls", "-")] == "N/A"
    assert verdicts[("metrics-private", "-")] == "PASS"
    assert verdicts[("no-downgrade", "-")] == "PASS"
    assert set(verdicts.values()) <= {"PASS", "N/A"}, result.stdout
    # RFC 8414's path answers 404 on this issuer: the pass came from the OIDC fallback.
    assert "OIDC at" in table[("auth-server", "notes")][1]
    # time is the bridge, which streams (SSE): its first event arrived and the GET stream stayed open.
    assert "first event" in table[("stream", "time")][1]
    assert "open after" in table[("stream", "time")][1]
    assert dev.token not in result.stdout + result.stderr


def test_without_a_token_the_stream_is_a_warning_not_a_pass(dev: Dev) -> None:
    result = run_verify(dev.url, "--routes", "notes")
    assert result.returncode == 0, result.stdout
    assert rows(result.stdout)[("stream", "notes")][0] == "WARN"


def test_the_url_clients_use_differs_from_the_one_dev_names(dev: Dev) -> None:
    """localhost reaches make dev too, but its metadata names 127.0.0.1: a client that came by
    localhost is told its resource is some other URL."""
    result = run_verify("http://localhost:8000/notes/mcp", token=dev.token)
    assert result.returncode == 1
    table = rows(result.stdout)
    assert table[("metadata-resource", "notes")][0] == "FAIL"
    assert "clients reach http://localhost:8000/notes/mcp" in table[("metadata-resource", "notes")][1]
    assert table[("challenge", "notes")][0] == "FAIL"
    assert "failed: challenge, metadata-resource" in result.stdout


def test_a_gateway_with_the_wrong_public_url_fails_the_resource_check(tmp_path: Path) -> None:
    port = free_port()
    with running_issuer() as issuer:
        # As when GATEWAY_PUBLIC_URL is left at an internal name: the metadata names that URL.
        env = gateway_env(
            port,
            "https://mcp.internal.example",
            {"notes": {"upstream": f"http://127.0.0.1:{free_port()}", "scopes": ["notes:read"]}},
            issuer.url,
        )
        with running_gateway(env, port, tmp_path / "gateway.log") as url:
            result = run_verify(url, "--routes", "notes")
    assert result.returncode == 1, result.stdout
    table = rows(result.stdout)
    verdict, detail = table[("metadata-resource", "notes")]
    assert verdict == "FAIL"
    assert detail == f"resource is 'https://mcp.internal.example/notes/mcp'; clients reach {url}/notes/mcp"
    assert table[("challenge", "notes")] == (
        "FAIL",
        "resource_metadata is https://mcp.internal.example/.well-known/oauth-protected-resource/notes/mcp; "
        f"expected http://127.0.0.1:{port}/.well-known/oauth-protected-resource/notes/mcp",
    )
    # The issuer of tests/server serves RFC 8414 metadata without sign-in endpoints.
    assert table[("auth-server", "notes")][0] == "WARN"


def test_auth_off_is_a_warning_not_a_pass(tmp_path: Path) -> None:
    port = free_port()
    with running_notes(free_port(), tmp_path) as notes:
        env = gateway_env(port, f"http://127.0.0.1:{port}", {"notes": {"upstream": notes}}, None)
        with running_gateway(env, port, tmp_path / "gateway.log") as url:
            result = run_verify(url, "--routes", "notes")
    assert result.returncode == 0, result.stdout
    table = rows(result.stdout)
    assert table[("challenge", "notes")][0] == "WARN"
    assert table[("challenge", "notes")][1].startswith("auth off: POST without a token answered")
    assert table[("metadata-resource", "notes")] == ("WARN", "auth off: no protected-resource metadata (404)")
    assert table[("auth-server", "notes")][0] == "N/A"
    # Open to anyone, so open to the stream check too, without a token.
    assert table[("stream", "notes")][0] == "PASS"


def test_a_proxy_that_buffers_streams_fails_the_stream_check(dev: Dev) -> None:
    with buffering_proxy(8000) as port:
        result = run_verify(
            f"http://127.0.0.1:{port}", "--routes", "time", "--stream-seconds", "2", token=dev.token
        )
    assert result.returncode == 1
    verdict, detail = rows(result.stdout)[("stream", "time")]
    assert verdict == "FAIL"
    assert "GET SSE stream: no response headers within 2 s" in detail


def test_no_routes_is_a_usage_error() -> None:
    result = run_verify("http://127.0.0.1:9")
    assert result.returncode == 2
    assert "--routes" in result.stderr


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_behind_https_the_certificate_and_hsts_are_checked(
    dev: Dev, certificates: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = certificates
    with tls_front(cert, key, 8000) as port:
        trusted = run_verify(f"https://127.0.0.1:{port}", "--routes", "notes", ssl_cert_file=ca)
        untrusted = run_verify(f"https://127.0.0.1:{port}", "--routes", "notes")
    table = rows(trusted.stdout)
    assert table[("tls", "-")][0] == "PASS", trusted.stdout
    assert table[("tls", "-")][1].startswith("valid for 127.0.0.1, TLSv1.3, expires in 29 days")
    assert table[("hsts", "notes")] == ("PASS", "max-age=63072000; includeSubDomains")
    assert table[("http-redirect", "notes")] == ("N/A", f"custom https port {port}: no http twin")
    # A client without the private CA in its trust store refuses the certificate.
    verdict, detail = rows(untrusted.stdout)[("tls", "-")]
    assert verdict == "FAIL"
    assert detail.startswith("certificate refused: unable to get local issuer certificate")
    assert untrusted.returncode == 1


def test_a_redirect_from_https_to_http_fails(certificates: tuple[Path, Path, Path]) -> None:
    ca, cert, key = certificates
    with tls_front(cert, key, 9, downgrade=True) as port:
        result = run_verify(f"https://127.0.0.1:{port}", "--routes", "notes", ssl_cert_file=ca)
    assert result.returncode == 1
    verdict, detail = rows(result.stdout)[("no-downgrade", "-")]
    assert verdict == "FAIL"
    assert detail.startswith(f"https://127.0.0.1:{port}/notes/mcp -> http://127.0.0.1:9/notes/mcp")
