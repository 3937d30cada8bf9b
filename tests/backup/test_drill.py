"""`mcp-backup drill` against real Postgres and moto: the newest dump is restored into a scratch
database, checked against its manifest, and the scratch database is gone afterwards, pass or fail."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.backup.conftest import PASSWORD, POSTGRES_ADMIN, Bucket, contents, mcp_backup, seed


def scratch_databases(server: str) -> list[str]:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (f"drill_{server}_",)
        ).fetchall()
    return [str(row[0]) for row in rows]


def lines(stdout: str, event: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, stdout.splitlines()) if line["event"] == event]


def migrated(url: str, versions: int = 2) -> None:
    """The table mcp_notes' migrations record themselves in (server/src/mcp_notes/notes/postgres.py)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version in range(1, versions + 1):
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, f"m{version}")
            )


class Drill:
    """One server's database, dumped once to the bucket; the drill runs as the job would."""

    def __init__(self, bucket: Bucket, url: str) -> None:
        self.bucket = bucket
        self.server = f"n{secrets.token_hex(3)}"  # its own scratch-database prefix
        self.env = {
            **bucket.env,
            "BACKUP_URL": f"s3://{bucket.name}/db",
            f"PG_URL_{self.server.upper()}": url,
        }

    def dump(self) -> str:
        done = mcp_backup("dump", env=self.env)
        assert done.returncode == 0, done.stdout + done.stderr
        [key] = [k for k in self.bucket.listing() if k.endswith(".dump")]
        return key

    def manifest_key(self, dump: str) -> str:
        return dump.removesuffix(".dump") + ".manifest.json"

    def edit_manifest(self, dump: str, **changes: Any) -> None:
        manifest = json.loads(self.bucket.read(self.manifest_key(dump)))
        self.bucket.write(self.manifest_key(dump), json.dumps({**manifest, **changes}).encode())

    def run(self, *args: str, env: dict[str, str] | None = None):
        return mcp_backup("drill", *args, env={**self.env, **(env or {})})


@pytest.fixture
def drill(bucket: Bucket, new_database: Callable[[], str]) -> Drill:
    url = new_database()
    seed(url, rows=26)
    migrated(url)
    return Drill(bucket, url)


def test_a_good_dump_passes_and_leaves_no_scratch_database(drill: Drill) -> None:
    key = drill.dump()
    manifest = json.loads(drill.bucket.read(drill.manifest_key(key)))
    assert manifest["schema_version"] == 2  # dump records what the migrations recorded

    done = drill.run("--all")

    assert done.returncode == 0, done.stdout + done.stderr
    [line] = lines(done.stdout, "drill")
    assert line["status"] == "ok"
    assert line["server"] == drill.server
    assert line["object"] == key.removeprefix("db/")
    assert line["schema_version"] == 2
    assert line["tables"] == 3  # app.notes, public.audit, public.schema_migrations
    assert line["rows"] == 26 + 1 + 2
    assert line["scratch_database"].startswith(f"drill_{drill.server}_")
    assert line["seconds"] > 0
    assert scratch_databases(drill.server) == []
    assert PASSWORD not in done.stdout + done.stderr


def test_a_corrupted_dump_fails_the_drill(drill: Drill) -> None:
    key = drill.dump()
    data = bytearray(drill.bucket.read(key))
    data[len(data) // 2] ^= 0xFF
    drill.bucket.write(key, bytes(data))

    done = drill.run()

    assert done.returncode == 1
    [line] = lines(done.stdout, "drill")
    assert line["status"] == "failed"
    assert "does not match its manifest" in line["reason"]
    assert scratch_databases(drill.server) == []


def test_a_dump_corrupted_before_its_manifest_was_written_fails_in_pg_restore(drill: Drill) -> None:
    """A truncated dump whose manifest describes the truncated bytes (a bad write at dump time):
    the hash matches, pg_restore refuses, and the scratch database is dropped all the same."""
    key = drill.dump()
    truncated = drill.bucket.read(key)[:-300]
    drill.bucket.write(key, truncated)
    drill.edit_manifest(key, sha256=hashlib.sha256(truncated).hexdigest(), bytes=len(truncated))

    done = drill.run()

    assert done.returncode == 1
    [line] = lines(done.stdout, "drill")
    assert line["status"] == "failed"
    assert line["reason"].startswith("pg_restore failed")
    assert line["scratch_database"].startswith(f"drill_{drill.server}_")
    assert scratch_databases(drill.server) == []


def test_row_counts_that_differ_from_the_manifest_fail_the_drill(drill: Drill) -> None:
    key = drill.dump()
    manifest = json.loads(drill.bucket.read(drill.manifest_key(key)))
    drill.edit_manifest(key, tables={**manifest["tables"], "app.notes": 27})

    done = drill.run()

    assert done.returncode == 1
    [line] = lines(done.stdout, "drill")
    assert line["reason"] == (
        "restored database differs from the manifest: app.notes 26 rows, the dump recorded 27"
    )
    assert scratch_databases(drill.server) == []


def test_a_schema_version_or_table_that_differs_fails_the_drill(drill: Drill) -> None:
    key = drill.dump()
    manifest = json.loads(drill.bucket.read(drill.manifest_key(key)))
    tables = {**manifest["tables"], "app.gone": 0}
    drill.edit_manifest(key, schema_version=3, tables=tables)

    done = drill.run()

    assert done.returncode == 1
    [line] = lines(done.stdout, "drill")
    assert "schema version 2, the dump recorded 3" in line["reason"]
    assert "tables missing: app.gone" in line["reason"]
    assert scratch_databases(drill.server) == []


def test_a_dump_without_a_manifest_fails_with_the_reason(drill: Drill) -> None:
    key = drill.dump()
    drill.bucket.client().delete_object(Bucket=drill.bucket.name, Key=drill.manifest_key(key))

    done = drill.run()

    assert done.returncode == 1
    [line] = lines(done.stdout, "drill")
    assert line["reason"].endswith(
        "has no manifest (" + drill.manifest_key(key).removeprefix("db/") + "): nothing to check it against"
    )


def test_every_database_is_drilled_even_after_one_failed(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    good, bad = new_database(), new_database()
    seed(good)
    seed(bad)
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_ALPHA": bad, "PG_URL_BETA": good}
    assert mcp_backup("dump", env=env).returncode == 0
    [alpha] = [k for k in bucket.listing() if k.startswith("db/alpha/") and k.endswith(".dump")]
    bucket.write(alpha, bucket.read(alpha)[:100])

    done = mcp_backup("drill", env=env)

    assert done.returncode == 1
    status = {line["server"]: line["status"] for line in lines(done.stdout, "drill")}
    assert status == {"alpha": "failed", "beta": "ok"}
    [run] = lines(done.stdout, "drill-run")
    assert (run["databases"], run["failed"]) == (2, 1)
    only_beta = mcp_backup("drill", "--server", "beta", env=env)
    assert only_beta.returncode == 0, only_beta.stdout
    assert [line["server"] for line in lines(only_beta.stdout, "drill")] == ["beta"]


def test_the_scratch_database_is_made_with_pg_drill_url_and_the_source_is_untouched(
    drill: Drill, new_database: Callable[[], str]
) -> None:
    """PG_DRILL_URL (a role that may CREATE DATABASE) makes the copy; the server's database keeps
    its rows, and a leftover of a killed drill long ago is dropped first."""
    drill.dump()
    [source] = [v for k, v in drill.env.items() if k.startswith("PG_URL_")]
    before = contents(source)
    leftover, recent = f"drill_{drill.server}_20000101t000000z_abcdef", f"drill_{drill.server}_x"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        for name in (leftover, recent):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        elsewhere = new_database()  # PG_DRILL_URL names a database other than the server's
        done = drill.run(env={"PG_DRILL_URL": elsewhere})

        assert done.returncode == 0, done.stdout + done.stderr
        [cleanup] = lines(done.stdout, "drill-cleanup")
        assert cleanup["dropped"] == leftover
        assert scratch_databases(drill.server) == [recent]  # not a drill's name: left alone
        assert contents(source) == before
        assert PASSWORD not in done.stdout + done.stderr
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            for name in (leftover, recent):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def test_a_role_that_may_not_create_databases_fails_with_the_reason(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    url = new_database()
    seed(url)
    role = f"drill_nocreate_{secrets.token_hex(3)}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        drill = Drill(bucket, url)
        drill.dump()
        weak = url.replace("postgresql://postgres:", f"postgresql://{role}:")

        done = drill.run(env={"PG_DRILL_URL": weak})

        assert done.returncode == 1
        [line] = lines(done.stdout, "drill")
        assert "permission denied to create database" in line["reason"]
        assert PASSWORD not in done.stdout + done.stderr
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--server", "nope"), "no database named 'nope': PG_URL_NOPE is not set", id="unknown"),
        pytest.param((), "no dumps for", id="no-dumps"),
    ],
)
def test_what_cannot_be_drilled_says_why(
    args: tuple[str, ...], message: str, bucket: Bucket, new_database: Callable[[], str]
) -> None:
    drill = Drill(bucket, new_database())
    done = drill.run(*args)
    assert done.returncode == (2 if args else 1)
    assert message in done.stdout
