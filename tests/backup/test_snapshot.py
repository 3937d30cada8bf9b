"""The manifest's exact row counts are taken in the dump's own snapshot: writes that land while a
dump runs are in neither."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from mcp_backup.postgres import snapshot
from tests.backup.conftest import seed


def test_counts_ignore_rows_written_after_the_snapshot(new_database: Callable[[], str]) -> None:
    url = new_database()
    seed(url, rows=5)
    with snapshot(url) as held:
        with psycopg.connect(url, autocommit=True) as writer:
            writer.execute("INSERT INTO app.notes (title) SELECT 'later' FROM generate_series(1, 7)")
        assert held.row_counts("exact") == {"app.notes": 5, "public.audit": 1}
        assert held.id  # what pg_dump --snapshot imports
