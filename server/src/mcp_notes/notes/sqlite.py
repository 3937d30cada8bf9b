"""Notes in a SQLite file: the embedded default, so one command runs the server on a laptop.
Same interface and limits as Postgres; full-text search by FTS5 with bm25 ranking."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from mcp_notes.notes.migrations import migrations
from mcp_notes.notes.model import Note, Owner, SearchHit, VersionConflict

NOTE_COLUMNS = "id, title, body, tags, version, created_at, updated_at"
WORD = re.compile(r"\w+", re.UNICODE)


class SqliteNotes:
    backend = "sqlite"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> SqliteNotes:
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db)
        await store.migrate()
        return store

    async def migrate(self) -> list[int]:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with self._db.execute("SELECT version FROM schema_migrations") as cursor:
            done = {row[0] for row in await cursor.fetchall()}
        applied = []
        for migration in migrations("sqlite"):
            if migration.version in done:
                continue
            await self._db.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\n"
                f"INSERT INTO schema_migrations VALUES ({migration.version}, '{migration.name}', "
                f"'{_now()}');\nCOMMIT;"
            )
            applied.append(migration.version)
        return applied

    async def create(self, owner: Owner, title: str, body: str, tags: tuple[str, ...]) -> Note:
        note_id, now = str(uuid.uuid4()), _now()
        await self._db.execute(
            "INSERT INTO notes (id, tenant, subject, title, body, tags, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (note_id, owner.tenant, owner.subject, title, body, json.dumps(tags), now, now),
        )
        await self._db.commit()
        note = await self.get(owner, note_id)
        assert note is not None
        return note

    async def get(self, owner: Owner, note_id: str) -> Note | None:
        async with self._db.execute(
            f"SELECT {NOTE_COLUMNS} FROM notes WHERE tenant = ? AND subject = ? AND id = ?",
            (owner.tenant, owner.subject, note_id),
        ) as cursor:
            row = await cursor.fetchone()
        return _note(row) if row else None

    async def update(
        self,
        owner: Owner,
        note_id: str,
        *,
        title: str | None,
        body: str | None,
        tags: tuple[str, ...] | None,
        expected_version: int | None,
    ) -> Note | None:
        cursor = await self._db.execute(
            "UPDATE notes SET title = COALESCE(?, title), body = COALESCE(?, body),"
            " tags = COALESCE(?, tags), version = version + 1, updated_at = ?"
            " WHERE tenant = ? AND subject = ? AND id = ? AND (? IS NULL OR version = ?)",
            (
                title,
                body,
                json.dumps(tags) if tags is not None else None,
                _now(),
                owner.tenant,
                owner.subject,
                note_id,
                expected_version,
                expected_version,
            ),
        )
        await self._db.commit()
        current = await self.get(owner, note_id)
        if cursor.rowcount == 1 or current is None:
            return current
        raise VersionConflict(note_id, current.version, expected_version)

    async def delete(self, owner: Owner, note_id: str) -> bool:
        cursor = await self._db.execute(
            "DELETE FROM notes WHERE tenant = ? AND subject = ? AND id = ?",
            (owner.tenant, owner.subject, note_id),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def search(
        self, owner: Owner, query: str, tag: str | None, limit: int, offset: int
    ) -> list[SearchHit]:
        # FTS5 has its own query language; quoting every word makes user text plain terms.
        words = WORD.findall(query)
        if not words:
            return []
        match = " ".join('"' + word.replace('"', "") + '"' for word in words)
        async with self._db.execute(
            "SELECT n.id, n.title, snippet(notes_fts, 1, '**', '**', '…', 16) AS snippet, n.tags,"
            " -bm25(notes_fts, 2.0, 1.0) AS rank, n.updated_at"
            " FROM notes_fts JOIN notes n ON n.rowid = notes_fts.rowid"
            " WHERE notes_fts MATCH ? AND n.tenant = ? AND n.subject = ?"
            " AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(n.tags) WHERE value = ?))"
            " ORDER BY rank DESC, n.updated_at DESC, n.id LIMIT ? OFFSET ?",
            (match, owner.tenant, owner.subject, tag, tag, limit, offset),
        ) as cursor:
            rows = await cursor.fetchall()
        return [SearchHit(r[0], r[1], r[2], tuple(json.loads(r[3])), float(r[4]), _time(r[5])) for r in rows]

    async def tags(self, owner: Owner) -> list[tuple[str, int]]:
        async with self._db.execute(
            "SELECT value, count(*) AS n FROM notes, json_each(notes.tags)"
            " WHERE tenant = ? AND subject = ? GROUP BY value ORDER BY n DESC, value",
            (owner.tenant, owner.subject),
        ) as cursor:
            return [(row[0], row[1]) for row in await cursor.fetchall()]

    async def ping(self) -> None:
        async with self._db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    def in_use(self) -> int:
        return 0  # one connection, serialised by aiosqlite's worker thread

    async def close(self) -> None:
        await self._db.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _note(row: aiosqlite.Row) -> Note:
    return Note(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        tags=tuple(json.loads(row["tags"])),
        version=row["version"],
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
    )
