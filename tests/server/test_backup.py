"""backup -> object store -> restore, with real Postgres, real pg_dump/pg_restore and a real S3
API (moto's server on loopback). gs:// goes through the same server via GOOGLE_BASE_URL: that
exercises our code and obstore's GCS client, not Google's service itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import asyncpg
import boto3
import pytest
from moto.server import ThreadedMotoServer

from mcp_notes.backup import BackupError, backup, list_dumps, redact, restore, split_password
from mcp_notes.notes.model import Owner
from mcp_notes.notes.postgres import PostgresNotes

ALICE = Owner("alice")


@pytest.fixture(scope="module")
def object_store() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(object_store: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # Dummy credentials always: with none, obstore would ask the cloud metadata address.
    for key in [k for k in os.environ if k.startswith(("AWS_", "GOOGLE_"))]:
        monkeypatch.delenv(key)
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": object_store,
        "AWS_ALLOW_HTTP": "true",
        "GOOGLE_BASE_URL": object_store,
        "GOOGLE_BEARER_TOKEN": "test",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    name = f"backups{os.urandom(4).hex()}"  # no "-": the GCS client escapes it and moto does not unescape
    boto3.client("s3", endpoint_url=object_store).create_bucket(Bucket=name)
    return name


async def seed(url: str) -> list[str]:
    store = await PostgresNotes.open(url, min_size=1, max_size=2, connect_timeout=5, statement_timeout=10)
    try:
        notes = [await store.create(ALICE, f"note {i}", f"body {i} ünïcode", ("t",)) for i in range(25)]
        return sorted(n.id for n in notes)
    finally:
        await store.close()


async def note_ids(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return sorted(r["id"] for r in await conn.fetch("SELECT id::text FROM notes"))
    finally:
        await conn.close()


@pytest.mark.parametrize("scheme", ["s3", "gs"])
async def test_backup_then_restore_into_an_empty_database(
    scheme: str, bucket: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ids = await seed(database_url)
    backup_url = f"{scheme}://{bucket}/prod/db"
    name = backup(database_url, backup_url)
    assert name.endswith("Z.dump")
    assert list_dumps(backup_url) == [name]

    target = await _empty_database(database_url, "restored")
    try:
        assert restore(target, "latest", backup_url) == name
        assert await note_ids(target) == ids
    finally:
        await _drop_database(database_url, target)


async def test_restore_replaces_newer_rows_with_the_dump(bucket: str, database_url: str) -> None:
    ids = await seed(database_url)
    backup_url = f"s3://{bucket}/db"
    name = backup(database_url, backup_url)
    conn = await asyncpg.connect(database_url)
    await conn.execute("DELETE FROM notes WHERE id = $1::uuid", ids[0])
    await conn.close()
    await _disconnect_others(database_url)
    restore(database_url, name, backup_url)
    assert await note_ids(database_url) == ids


async def test_a_local_dump_file_restores_too(bucket: str, database_url: str, tmp_path) -> None:
    ids = await seed(database_url)
    name = backup(database_url, f"s3://{bucket}/db")
    local = tmp_path / name
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).download_file(
        bucket, f"db/{name}", str(local)
    )
    target = await _empty_database(database_url, "fromfile")
    try:
        restore(target, str(local), None)
        assert await note_ids(target) == ids
    finally:
        await _drop_database(database_url, target)


def test_failures_say_why_without_the_password(bucket: str) -> None:
    secret_url = "postgresql://postgres:Sup3r-Secret@127.0.0.1:5432/no_such_database"
    with pytest.raises(BackupError) as caught:
        backup(secret_url, f"s3://{bucket}/db")
    assert "pg_dump failed" in str(caught.value)
    assert "no_such_database" in str(caught.value)
    assert "Sup3r-Secret" not in str(caught.value)
    with pytest.raises(BackupError, match="no dumps under"):
        restore(secret_url, "latest", f"s3://{bucket}/empty")
    with pytest.raises(BackupError, match="s3:// or gs://"):
        backup(secret_url, "ftp://example.com/x")


async def test_object_store_failures_are_one_line_errors(bucket: str, database_url: str) -> None:
    await seed(database_url)
    missing = f"s3://{bucket}-missing/db"  # the store answers NoSuchBucket
    with pytest.raises(BackupError) as upload:
        backup(database_url, missing)
    assert str(upload.value).startswith(f"could not upload the dump to {missing}: ")
    assert "\n" not in str(upload.value)
    with pytest.raises(BackupError, match=f"could not list {missing}"):
        restore(database_url, "latest", missing)


def test_password_leaves_the_url_before_any_command_line() -> None:
    dsn, password = split_password("postgresql://app:p%40ss%3Aw%2Frd@db.internal:5432/notes?sslmode=require")
    assert dsn == "postgresql://app@db.internal:5432/notes?sslmode=require"
    assert password == "p@ss:w/rd"
    assert redact("postgresql://app:pw@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert split_password("postgresql://db/x") == ("postgresql://db/x", None)


async def _empty_database(admin_url: str, suffix: str) -> str:
    base, name = admin_url.rsplit("/", 1)
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}_{suffix}"')
    await conn.close()
    return f"{base}/{name}_{suffix}"


async def _drop_database(admin_url: str, url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


async def _disconnect_others(url: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    await conn.close()


def mcp_notes(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_notes", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_backup_and_restore_commands_as_the_scheduled_job_runs_them(
    bucket: str, database_url: str
) -> None:
    ids = await seed(database_url)
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BACKUP_", "MCP_", "AUTH_"))
    }
    # As the image runs the job: listening address 0.0.0.0, but no public URL or issuer,
    # which only `serve` needs.
    clean["MCP_HOST"] = "0.0.0.0"
    env = {**clean, "DATABASE_URL": database_url, "BACKUP_URL": f"s3://{bucket}/nightly"}
    done = await asyncio.to_thread(mcp_notes, "backup", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [json.loads(x) for x in done.stdout.splitlines() if '"backup written"' in x]
    assert line["object"].startswith(f"s3://{bucket}/nightly/")
    assert line["bytes"] > 0

    target = await _empty_database(database_url, "cli")
    try:
        restored = await asyncio.to_thread(
            mcp_notes, "restore", "latest", env={**env, "DATABASE_URL": target}
        )
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert await note_ids(target) == ids
    finally:
        await _drop_database(database_url, target)

    no_url = await asyncio.to_thread(mcp_notes, "backup", env={**clean, "DATABASE_URL": database_url})
    assert no_url.returncode == 2
    assert "backup needs BACKUP_URL" in no_url.stdout
