"""Both stores, against real Postgres and a real SQLite file: CRUD, isolation between owners,
ranked and paginated search that treats query syntax as text, tags, versions, migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from mcp_notes.notes.model import Owner, VersionConflict
from mcp_notes.notes.postgres import PostgresNotes
from mcp_notes.notes.sqlite import SqliteNotes
from mcp_notes.notes.store import NoteStore

ALICE = Owner("alice")
BOB = Owner("bob")
ALICE_AT_OTHER_TENANT = Owner("alice", tenant="other")


async def open_postgres(url: str) -> PostgresNotes:
    return await PostgresNotes.open(url, min_size=1, max_size=4, connect_timeout=5, statement_timeout=10)


@pytest_asyncio.fixture
async def postgres_store(database_url: str) -> AsyncIterator[NoteStore]:
    store = await open_postgres(database_url)
    yield store
    await store.close()


@pytest_asyncio.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[NoteStore]:
    store = await SqliteNotes.open(tmp_path / "notes.db")
    yield store
    await store.close()


@pytest.fixture(params=["postgres_store", "sqlite_store"])
def store(request: pytest.FixtureRequest) -> NoteStore:
    return request.getfixturevalue(request.param)


async def test_create_get_update_delete(store: NoteStore) -> None:
    note = await store.create(ALICE, "Runbook", "Restart the cache first.", ("ops", "redis"))
    assert (note.title, note.version, note.tags) == ("Runbook", 1, ("ops", "redis"))
    assert await store.get(ALICE, note.id) == note

    updated = await store.update(
        ALICE, note.id, title=None, body="Drain, then restart.", tags=None, expected_version=1
    )
    assert updated is not None
    assert (updated.title, updated.body, updated.version) == ("Runbook", "Drain, then restart.", 2)
    assert updated.updated_at >= note.updated_at

    assert await store.delete(ALICE, note.id) is True
    assert await store.get(ALICE, note.id) is None
    assert await store.delete(ALICE, note.id) is False


async def test_a_stale_version_is_refused_and_nothing_is_lost(store: NoteStore) -> None:
    note = await store.create(ALICE, "Plan", "v1", ())
    await store.update(ALICE, note.id, title=None, body="v2", tags=None, expected_version=1)
    with pytest.raises(VersionConflict, match="at version 2, not 1"):
        await store.update(ALICE, note.id, title=None, body="lost?", tags=None, expected_version=1)
    current = await store.get(ALICE, note.id)
    assert current is not None
    assert current.body == "v2"


async def test_nobody_reads_changes_or_detects_another_owners_notes(store: NoteStore) -> None:
    mine = await store.create(ALICE, "Salary bands", "confidential numbers", ("hr",))
    for other in (BOB, ALICE_AT_OTHER_TENANT):
        assert await store.get(other, mine.id) is None
        assert (
            await store.update(other, mine.id, title="pwned", body=None, tags=None, expected_version=None)
            is None
        )
        # even a wrong version must not reveal that the note exists
        assert (
            await store.update(other, mine.id, title="pwned", body=None, tags=None, expected_version=99)
            is None
        )
        assert await store.delete(other, mine.id) is False
        assert await store.search(other, "confidential", None, 10, 0) == []
        assert await store.tags(other) == []
    survivor = await store.get(ALICE, mine.id)
    assert survivor is not None
    assert survivor.title == "Salary bands"


async def test_malformed_ids_are_just_missing_notes(store: NoteStore) -> None:
    for bad in ("not-a-uuid", "' OR 1=1 --", "", "0" * 400):
        assert await store.get(ALICE, bad) is None
        assert await store.delete(ALICE, bad) is False


async def test_search_ranks_title_matches_first_and_pages(store: NoteStore) -> None:
    await store.create(ALICE, "Postgres failover", "How the standby takes over.", ("db",))
    await store.create(ALICE, "Weekly notes", "We discussed postgres upgrades briefly.", ("meta",))
    await store.create(ALICE, "Lunch", "Tacos on Friday.", ())
    hits = await store.search(ALICE, "postgres", None, 10, 0)
    assert [h.title for h in hits] == ["Postgres failover", "Weekly notes"]
    assert hits[0].rank > hits[1].rank
    assert "**" in hits[0].snippet or "**" in hits[1].snippet  # the match is highlighted
    first, second = (
        await store.search(ALICE, "postgres", None, 1, 0),
        await store.search(ALICE, "postgres", None, 1, 1),
    )
    assert [h.title for h in first + second] == [h.title for h in hits]
    assert [h.title for h in await store.search(ALICE, "postgres", "meta", 10, 0)] == ["Weekly notes"]


@pytest.mark.parametrize(
    ("hostile", "found"),
    [
        # operators are dropped and the one real word matches; every other query holds words
        # the note lacks, and all words must match, so nothing is found and nothing breaks
        ("postgres & | ! ( ) :* <-> \\", ["Postgres failover"]),
        ("'; DROP TABLE notes; --", []),
        ('"unbalanced', []),
        ("NEAR(postgres failover) OR title:*", []),
        ("%_%' UNION SELECT body FROM notes --", []),
        ("\x00", []),
        ("🙂" * 50, []),
    ],
)
async def test_search_treats_sql_and_query_syntax_as_plain_text(
    store: NoteStore, hostile: str, found: list[str]
) -> None:
    await store.create(ALICE, "Postgres failover", "How the standby takes over.", ())
    hits = await store.search(ALICE, hostile.replace("\x00", " "), None, 10, 0)
    assert [h.title for h in hits] == found
    assert await store.get(ALICE, (await store.search(ALICE, "standby", None, 1, 0))[0].id)


async def test_tags_are_counted_per_owner(store: NoteStore) -> None:
    await store.create(ALICE, "a", "x", ("ops", "db"))
    await store.create(ALICE, "b", "y", ("ops",))
    await store.create(BOB, "c", "z", ("ops", "secret-project"))
    assert await store.tags(ALICE) == [("ops", 2), ("db", 1)]


async def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    stores = await asyncio.gather(*(open_postgres(database_url) for _ in range(4)))
    try:
        conn = await asyncpg.connect(database_url)
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        await conn.close()
        assert [r["version"] for r in rows] == [1]
        assert [await s.migrate() for s in stores] == [[], [], [], []]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_pool_reports_connections_in_use(database_url: str) -> None:
    store = await open_postgres(database_url)
    try:
        assert store.in_use() == 0
        conn = await store._pool.acquire()
        assert store.in_use() == 1
        store._pool.release(conn)
        assert store.in_use() == 0
    finally:
        await store.close()
