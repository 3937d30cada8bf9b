"""rediss:// to a Redis whose certificate is made like Memorystore's: signed by its own CA,
naming an IP in its CN rather than the host we dial, and a CA bundle that holds two CAs while
the server CA rotates. The chain must be verified; the name cannot be."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mcp_notes.settings import load_settings
from mcp_notes.shared.redis_link import open_redis
from tests.server.certs import make_ca, pem
from tests.server.issuer import free_port


@pytest.fixture(scope="module")
def cas() -> dict[str, tuple[ec.EllipticCurvePrivateKey, x509.Certificate]]:
    return {"old": make_ca("test-only old server CA"), "new": make_ca("test-only new server CA")}


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory, cas: dict) -> Iterator[int]:
    """redis-server with TLS only, its certificate signed by the new CA, CN an unrelated IP."""
    ca_key, ca_cert = cas["new"]
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "10.0.0.3")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    workdir: Path = tmp_path_factory.mktemp("tls-redis")
    (workdir / "server.pem").write_text(pem(cert))
    (workdir / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (workdir / "ca.pem").write_text(pem(ca_cert))
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
         "--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=port, ssl=True, ssl_cert_reqs="none", socket_timeout=0.5).ping():
                    break
            time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait(10)


async def _ping(port: int, ca_bundle: str) -> bool:
    settings = load_settings(
        {"REDIS_URL": f"rediss://127.0.0.1:{port}/0", "REDIS_CA_CERT": ca_bundle}, serving=False
    )
    client = open_redis(settings)
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


async def test_a_certificate_naming_another_host_is_trusted_through_the_ca(tls_redis: int, cas: dict) -> None:
    assert await _ping(tls_redis, pem(cas["new"][1]))


async def test_every_ca_in_the_bundle_is_trusted_during_a_rotation(tls_redis: int, cas: dict) -> None:
    assert await _ping(tls_redis, pem(cas["old"][1]) + pem(cas["new"][1]))


async def test_the_chain_is_still_verified(tls_redis: int, cas: dict) -> None:
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await _ping(tls_redis, pem(cas["old"][1]))
