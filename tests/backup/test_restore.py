"""`mcp-backup restore` and `list`: a dump comes back as the same rows, through s3:// and gs://."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest

from tests.backup.conftest import PASSWORD, Bucket, contents, mcp_backup, seed


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_restore_latest_into_a_fresh_database_gives_the_same_rows(
    scheme: str, bucket: Bucket, new_database: Callable[[], str]
) -> None:
    source = new_database()
    rows = seed(source)
    backup_url = f"{scheme}://{bucket.name}/prod"
    dumped = mcp_backup("dump", env={**bucket.env, "BACKUP_URL": backup_url, "PG_URL_FASTMCP_TOOLS": source})
    assert dumped.returncode == 0, dumped.stdout + dumped.stderr

    fresh = new_database()
    env = {**bucket.env, "BACKUP_URL": backup_url, "PG_URL_FASTMCP_TOOLS": fresh}
    restored = mcp_backup("restore", "fastmcp-tools", "latest", env=env)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert contents(fresh) == rows
    [line] = [json.loads(x) for x in restored.stdout.splitlines()]
    assert line["status"] == "ok"
    assert line["checked"] is True
    assert PASSWORD not in restored.stdout + restored.stderr


def test_restore_replaces_what_changed_since_the_named_dump(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    notes = new_database()
    rows = seed(notes)
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_NOTES": notes}
    assert mcp_backup("dump", env=env).returncode == 0
    with psycopg.connect(notes, autocommit=True) as conn:
        conn.execute("DELETE FROM app.notes WHERE id < 10")
        conn.execute("CREATE TABLE public.later (x int)")
    listed = mcp_backup("list", "notes", env=env)
    [key] = [line.split("\t")[0] for line in listed.stdout.splitlines()]

    restored = mcp_backup("restore", "NOTES", key, env=env)  # the env-var spelling works too

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert contents(notes) == rows
    with psycopg.connect(notes) as conn:  # --clean drops what the dump holds; it leaves the rest
        assert conn.execute("SELECT to_regclass('public.later') IS NOT NULL").fetchone() == (True,)


def test_a_restore_that_fails_leaves_the_database_as_it_was(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    notes = new_database()
    seed(notes)
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_NOTES": notes}
    assert mcp_backup("dump", env=env).returncode == 0
    with psycopg.connect(notes, autocommit=True) as conn:
        conn.execute("DELETE FROM app.notes WHERE id < 10")
        conn.execute("CREATE TABLE app.later (x int)")  # DROP SCHEMA app (no CASCADE) now fails
    changed = contents(notes)

    done = mcp_backup("restore", "notes", env=env)

    assert done.returncode == 1
    assert "cannot drop schema app" in done.stdout
    assert contents(notes) == changed  # one transaction: nothing of the restore is left behind


def test_an_unknown_name_is_refused_with_the_known_ones(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    env = {
        **bucket.env,
        "BACKUP_URL": f"s3://{bucket.name}/db",
        "PG_URL_NOTES": new_database(),
        "PG_URL_FASTMCP_TOOLS": new_database(),
    }

    done = mcp_backup("restore", "tools", "latest", env=env)

    assert done.returncode == 2
    [line] = [json.loads(x) for x in done.stdout.splitlines()]
    assert line["status"] == "refused"
    assert line["error"] == "no database named 'tools': PG_URL_TOOLS is not set (known: fastmcp-tools, notes)"


def test_a_dump_that_does_not_match_its_manifest_is_not_restored(
    bucket: Bucket, new_database: Callable[[], str]
) -> None:
    notes = new_database()
    seed(notes)
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_NOTES": notes}
    assert mcp_backup("dump", env=env).returncode == 0
    [dump] = [key for key in bucket.listing() if key.endswith(".dump")]
    bucket.write(dump, bucket.read(dump)[:-100])
    target = new_database()

    done = mcp_backup("restore", "notes", env={**env, "PG_URL_NOTES": target})

    assert done.returncode == 1
    assert "does not match its manifest" in done.stdout
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('app.notes')").fetchone() == (None,)


def test_restore_says_what_is_missing(bucket: Bucket, new_database: Callable[[], str]) -> None:
    env = {**bucket.env, "BACKUP_URL": f"s3://{bucket.name}/db", "PG_URL_NOTES": new_database()}
    assert "no dumps for notes yet" in mcp_backup("restore", "notes", env=env).stdout
    assert mcp_backup("dump", env=env).returncode == 0
    missing = mcp_backup("restore", "notes", "20000101T000000Z.dump", env=env)
    assert missing.returncode == 1
    assert "no dump notes/20000101T000000Z.dump for notes; newest: notes/" in missing.stdout


def test_list_shows_every_servers_dumps_or_one(bucket: Bucket, new_database: Callable[[], str]) -> None:
    env = {
        **bucket.env,
        "BACKUP_URL": f"s3://{bucket.name}/db",
        "PG_URL_NOTES": new_database(),
        "PG_URL_TOOLS": new_database(),
    }
    assert mcp_backup("dump", env=env).returncode == 0

    everything = mcp_backup("list", env=env).stdout.splitlines()
    only_tools = mcp_backup("list", "tools", env=env).stdout.splitlines()

    assert [line.split("/")[0] for line in everything] == ["notes", "tools"]
    assert len(only_tools) == 1
    assert only_tools[0].startswith("tools/")
    assert ".manifest.json" not in "".join(everything)
