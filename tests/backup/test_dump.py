"""`mcp-backup dump` against real Postgres and moto: every database tried, a manifest beside each
dump, and nothing secret in what it prints."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.backup.conftest import PASSWORD, Bucket, mcp_backup, seed


def log_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_a_failing_database_does_not_stop_the_others(bucket: Bucket, new_database: Callable[[], str]) -> None:
    notes = new_database()
    seed(notes)
    broken = notes.rsplit("/", 1)[0] + "/no_such_database"
    env = {
        **bucket.env,
        "BACKUP_URL": f"s3://{bucket.name}/nightly",
        "PG_URL_NOTES": notes,
        "PG_URL_FASTMCP_TOOLS": broken,
    }

    done = mcp_backup("dump", env=env)

    assert done.returncode == 1, done.stdout + done.stderr
    per_database = {line["server"]: line for line in log_lines(done.stdout) if line["event"] == "dump"}
    assert per_database["notes"]["status"] == "ok"
    assert per_database["fastmcp-tools"]["status"] == "failed"
    assert "no_such_database" in per_database["fastmcp-tools"]["error"]
    [dump] = [key for key in bucket.listing() if key.endswith(".dump")]
    assert dump.startswith("nightly/notes/")
    assert f"{dump.removesuffix('.dump')}.manifest.json" in bucket.listing()
    assert not [key for key in bucket.listing() if "fastmcp-tools" in key]


def test_logs_never_carry_a_url_or_password(bucket: Bucket, new_database: Callable[[], str]) -> None:
    notes = new_database()
    broken = notes.rsplit("/", 1)[0] + "/no_such_database"
    env = {
        **bucket.env,
        "BACKUP_URL": f"s3://{bucket.name}/db",
        "PG_URL_NOTES": notes,
        "PG_URL_OTHER": broken,
    }

    done = mcp_backup("dump", env=env)

    printed = done.stdout + done.stderr
    assert len(log_lines(done.stdout)) == 3  # one per database, one for the run
    for secret in (PASSWORD, "Sup3r-Secret", "p%40ss", notes, broken, "postgresql://"):
        assert secret not in printed


def test_the_manifest_describes_the_dump_exactly(bucket: Bucket, new_database: Callable[[], str]) -> None:
    notes = new_database()
    seed(notes, rows=40)
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_NOTES": notes}

    done = mcp_backup("dump", env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    [dump] = [key for key in bucket.listing() if key.endswith(".dump")]
    manifest = json.loads(bucket.read(dump.removesuffix(".dump") + ".manifest.json"))
    data = bucket.read(dump)
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["bytes"] == len(data)
    assert manifest["object"] == dump.removeprefix("db/")
    assert manifest["server"] == "notes"
    assert manifest["row_counts"] == "exact"
    assert manifest["tables"] == {"app.notes": 40, "public.audit": 1}
    assert data.startswith(b"PGDMP")  # pg_dump's custom format


def test_estimated_row_counts_come_from_pg_class(bucket: Bucket, new_database: Callable[[], str]) -> None:
    notes = new_database()
    seed(notes, rows=30)
    with psycopg.connect(notes, autocommit=True) as conn:
        conn.execute("ANALYZE app.notes")
    env = {
        **bucket.env,
        "BACKUP_URL": f"s3://{bucket.name}/db",
        "PG_URL_NOTES": notes,
        "BACKUP_ROW_COUNTS": "estimate",
    }

    assert mcp_backup("dump", env=env).returncode == 0
    [manifest_key] = [key for key in bucket.listing() if key.endswith(".manifest.json")]
    manifest = json.loads(bucket.read(manifest_key))
    assert manifest["row_counts"] == "estimate"
    assert manifest["tables"]["app.notes"] == 30
    assert manifest["tables"]["public.audit"] is None  # never analyzed: unknown, not 0


def test_a_dump_larger_than_one_upload_part_streams_through(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    notes = new_database()
    with psycopg.connect(notes, autocommit=True) as conn:
        # ~24 MiB compressed (random hex): more than one 16 MiB multipart chunk.
        conn.execute(
            "CREATE TABLE blobs AS SELECT g AS id, (SELECT string_agg(md5(random()::text || i || g), '')"
            " FROM generate_series(1, 1500) AS s(i)) AS body FROM generate_series(1, 1000) g"
        )
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_NOTES": notes}

    done = mcp_backup("dump", env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    [dump] = [key for key in bucket.listing() if key.endswith(".dump")]
    data = bucket.read(dump)
    assert len(data) > 16 * 2**20
    manifest = json.loads(bucket.read(dump.removesuffix(".dump") + ".manifest.json"))
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["tables"] == {"public.blobs": 1000}


def test_retention_deletes_only_this_servers_old_dumps(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    notes = new_database()
    recent = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y%m%dT%H%M%SZ")
    old = [f"db/notes/20200101T000000Z{suffix}" for suffix in (".dump", ".manifest.json")]
    kept = [f"db/notes/{recent}.dump", "db/gone/20200101T000000Z.dump", "db/notes/README"]
    for key in old + kept:
        bucket.write(key, b"x")
    env = {
        **bucket.env,
        "BACKUP_URL": f"s3://{bucket.name}/db",
        "PG_URL_NOTES": notes,
        "BACKUP_RETENTION_DAYS": "7",
    }

    done = mcp_backup("dump", env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    keys = bucket.listing()
    assert not set(old) & set(keys)
    assert set(kept) <= set(keys)
    assert len([key for key in keys if key.startswith("db/notes/") and key.endswith(".dump")]) == 2
    [pruned] = [line for line in log_lines(done.stdout) if line["event"] == "prune"]
    assert pruned["deleted"] == 2


def test_without_retention_nothing_is_deleted(bucket: Bucket, new_database: Callable[[], str]) -> None:
    bucket.write("db/notes/20200101T000000Z.dump", b"x")
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_NOTES": new_database()}
    assert mcp_backup("dump", env=env).returncode == 0
    assert "db/notes/20200101T000000Z.dump" in bucket.listing()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"PG_URL_NOTES": "postgresql://x/y"}, "BACKUP_URL is not set", id="no-backup-url"),
        pytest.param({"BACKUP_URL": "s3://b/p"}, "no PG_URL_<NAME> variables", id="no-databases"),
        pytest.param(
            {"BACKUP_URL": "s3://b/p", "PG_URL_NOTES": "postgresql://x/y", "BACKUP_RETENTION_DAYS": "0"},
            "BACKUP_RETENTION_DAYS must be",
            id="bad-retention",
        ),
    ],
)
def test_bad_configuration_is_refused_before_any_work(env: dict[str, str], message: str) -> None:
    done = mcp_backup("dump", env=env)
    assert done.returncode == 2
    assert message in done.stdout


def test_an_unusable_backup_url_fails_the_run(new_database: Callable[[], str]) -> None:
    done = mcp_backup("dump", env={"BACKUP_URL": "ftp://example.com/x", "PG_URL_NOTES": new_database()})
    assert done.returncode == 1
    assert "s3:// or gs://" in done.stdout
