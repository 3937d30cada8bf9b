"""Real Postgres (127.0.0.1:5432, trust auth) and moto's S3 server on loopback for the backup job.

gs:// goes through the same moto server via GOOGLE_BASE_URL: that exercises our code and
obstore's GCS client, not Google's service. A missing Postgres fails the run, never skips it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer
from psycopg import sql

POSTGRES_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# What a leaked secret would look like in a log line: the tests grep for it.
PASSWORD = "Sup3r-Secret:p@ss/w0rd"


@pytest.fixture(scope="session")
def object_store() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass(frozen=True)
class Bucket:
    name: str
    endpoint: str
    env: dict[str, str]  # what the job needs to reach it (dummy credentials, loopback endpoint)

    def listing(self) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.name).get("Contents", [])
        return sorted(item["Key"] for item in listed)

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.name, Key=key, Body=data)

    def client(self):  # boto3's client type is generated at run time
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture
def bucket(object_store: str) -> Bucket:
    env = {
        # Dummy credentials always: with none, obstore would ask the cloud metadata address.
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": object_store,
        "AWS_ALLOW_HTTP": "true",
        "GOOGLE_BASE_URL": object_store,
        "GOOGLE_BEARER_TOKEN": "test",
    }
    made = Bucket(f"backups{secrets.token_hex(4)}", object_store, env)  # no "-": see the server tests
    made.client().create_bucket(Bucket=made.name)
    return made


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is required for the backup tests and did not answer ({error}). "
            "Start it or point TEST_POSTGRES_URL at one.",
            pytrace=False,
        )


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """Makes fresh empty databases (URLs with a password, which trust auth ignores) and drops them."""
    made: list[str] = []
    admin = _admin()

    def make() -> str:
        name = f"mcp_backup_test_{secrets.token_hex(5)}"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        base = POSTGRES_ADMIN.rsplit("/", 1)[0]
        user, host = base.removeprefix("postgresql://").rsplit("@", 1)
        quoted = "Sup3r-Secret%3Ap%40ss%2Fw0rd"  # PASSWORD, percent-encoded as a URL must carry it
        return f"postgresql://{user.split(':')[0]}:{quoted}@{host}/{name}"

    yield make
    for name in made:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def seed(url: str, rows: int = 25) -> dict[str, list[tuple]]:
    """Two schemas, unicode text, a sequence: what each table holds, for comparing after a restore."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("CREATE TABLE app.notes (id serial PRIMARY KEY, title text NOT NULL, tags text[])")
        conn.execute("CREATE TABLE public.audit (at timestamptz NOT NULL, what text)")
        for i in range(rows):
            conn.execute(
                "INSERT INTO app.notes (title, tags) VALUES (%s, %s)", (f"note {i} ünïcode", ["t", str(i)])
            )
        conn.execute("INSERT INTO public.audit VALUES ('2025-01-01T00:00:00Z', 'seeded')")
    return contents(url)


def contents(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {
            "app.notes": conn.execute("SELECT * FROM app.notes ORDER BY id").fetchall(),
            "public.audit": conn.execute("SELECT * FROM public.audit ORDER BY at").fetchall(),
        }


def mcp_backup(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The job as the platform runs it: a fresh process whose whole input is its environment."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PG_URL_", "BACKUP_", "AWS_", "GOOGLE_", "PG"))
    }
    return subprocess.run(
        [sys.executable, "-m", "mcp_backup", *args],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
