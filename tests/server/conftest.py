"""Real services for the server tests: Postgres and Redis on localhost, a JWKS issuer over
real HTTP. A missing service fails the run; it never turns into a skipped test."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from tests.server.issuer import Issuer, running_issuer
from tests.server.server_process import ServerProcess, running_server, server_env

POSTGRES_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _require(what: str, error: BaseException) -> None:
    pytest.fail(
        f"{what} is required for the server tests and did not answer ({error}). "
        "Start it (see README, 'Running the tests') or point TEST_POSTGRES_URL / TEST_REDIS_URL at one.",
        pytrace=False,
    )


@pytest_asyncio.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh, empty database per test, dropped afterwards."""
    name = f"mcp_test_{secrets.token_hex(6)}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        _require("PostgreSQL", error)
        raise
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS, socket_timeout=5)
    try:
        await client.ping()
    except Exception as error:  # noqa: BLE001 - any failure here means "no Redis"
        _require("Redis", error)
    yield client
    await client.aclose()


@pytest.fixture
def redis_prefix() -> str:
    """Keys of one test never meet another's, so tests need no FLUSHDB."""
    return f"mcp-test:{secrets.token_hex(6)}:"


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def make_database() -> str:
    """A fresh database for a module's server processes (sync: module fixtures have no loop)."""

    async def create() -> str:
        name = f"mcp_test_{secrets.token_hex(6)}"
        try:
            admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            _require("PostgreSQL", error)
            raise
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name

    return asyncio.run(create())


def drop_database(url: str) -> None:
    async def drop() -> None:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await admin.close()

    asyncio.run(drop())


@pytest.fixture(scope="module")
def module_database() -> Iterator[str]:
    url = make_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def server(issuer: Issuer, module_database: str) -> Iterator[ServerProcess]:
    """One real server process: Postgres, Redis, auth on; shared by a module's tests."""
    env = server_env(issuer, module_database, REDIS, RATE_LIMIT_PER_MINUTE="10000")
    with running_server(env) as process:
        yield process
