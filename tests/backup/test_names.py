"""The naming contract the platform helpers rely on, and the password's way around command lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mcp_backup.config import ConfigError, load
from mcp_backup.names import dump_key, dump_time, env_name, manifest_key
from mcp_backup.postgres import scrub, split_password


def test_env_names_and_server_names_map_both_ways() -> None:
    config = load({"BACKUP_URL": "s3://b", "PG_URL_FASTMCP_TOOLS": "postgresql://x/y", "PG_URL_": "z"})
    assert list(config.databases) == ["fastmcp-tools"]
    assert env_name("fastmcp-tools") == "PG_URL_FASTMCP_TOOLS"
    assert config.database_url("FASTMCP_TOOLS") == config.database_url("fastmcp-tools") == "postgresql://x/y"
    with pytest.raises(ConfigError, match=r"known: fastmcp-tools\)"):
        config.database_url("notes")


def test_keys_sort_by_time_and_carry_it() -> None:
    taken = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    key = dump_key("notes", taken)
    assert key == "notes/20250304T050607Z.dump"
    assert manifest_key(key) == "notes/20250304T050607Z.manifest.json"
    assert dump_time(key) == dump_time(manifest_key(key)) == taken
    assert dump_time("notes/README") is None
    assert dump_key("notes", datetime(2025, 12, 1, tzinfo=UTC)) > key


def test_the_password_leaves_the_url_and_is_scrubbed_from_messages() -> None:
    url = "postgresql://app:p%40ss%3Aw%2Frd@db.internal:5432/notes?sslmode=verify-full"
    dsn, password = split_password(url)
    assert dsn == "postgresql://app@db.internal:5432/notes?sslmode=verify-full"
    assert password == "p@ss:w/rd"
    assert split_password("postgresql://db/x") == ("postgresql://db/x", None)
    assert (
        scrub(f"failed for {url} with p@ss:w/rd and p%40ss%3Aw%2Frd", url)
        == "failed for *** with *** and ***"
    )
