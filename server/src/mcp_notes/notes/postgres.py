"""Notes in PostgreSQL through an asyncpg pool: bounded size, connect and statement timeouts,
migrations under an advisory lock, ranked full-text search."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from mcp_notes.notes.migrations import ADVISORY_LOCK_KEY, migrations
from mcp_notes.notes.model import Note, Owner, SearchHit, StoreUnavailable, VersionConflict
from mcp_notes.notes.pg_pool import ConnectionPool

log = logging.getLogger(__name__)

# SQLSTATE classes that mean "the server cannot serve now", not "this query is wrong":
# connection exception, insufficient resources, operator intervention (shutdown, statement
# timeout), system error.
UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
NOTE_COLUMNS = "id::text, title, body, tags, version, created_at, updated_at"
# One note of one owner; also the query `make bench` times alone (bench/floor_server.py).
GET_NOTE = f"SELECT {NOTE_COLUMNS} FROM notes WHERE tenant = $1 AND subject = $2 AND id = $3"
HEADLINE = "MaxFragments=1, MaxWords=30, MinWords=8, StartSel=**, StopSel=**"


class PostgresNotes:
    backend = "postgres"

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        min_size: int,
        max_size: int,
        connect_timeout: float,
        statement_timeout: float,
    ) -> PostgresNotes:
        pool = ConnectionPool(
            dsn,
            max_size=max_size,
            acquire_timeout=connect_timeout,
            timeout=connect_timeout,
            command_timeout=statement_timeout,
            server_settings={"application_name": "mcp-notes"},
        )
        await pool.open(min_size)
        store = cls(pool)
        await store.migrate()
        return store

    async def migrate(self) -> list[int]:
        """Apply pending migrations; concurrent callers wait on the advisory lock."""
        applied: list[int] = []
        async with self._connection() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
                for migration in migrations("postgres"):
                    if migration.version in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(migration.sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            migration.version,
                            migration.name,
                        )
                    log.info("applied migration", extra={"migration": migration.version})
                    applied.append(migration.version)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
        return applied

    async def create(self, owner: Owner, title: str, body: str, tags: tuple[str, ...]) -> Note:
        row = await self._one(
            f"INSERT INTO notes (id, tenant, subject, title, body, tags) VALUES ($1, $2, $3, $4, $5, $6)"
            f" RETURNING {NOTE_COLUMNS}",
            uuid.uuid4(),
            owner.tenant,
            owner.subject,
            title,
            body,
            list(tags),
        )
        assert row is not None
        return note_from_row(row)

    async def get(self, owner: Owner, note_id: str) -> Note | None:
        key = _uuid(note_id)
        if key is None:
            return None
        row = await self._one(GET_NOTE, owner.tenant, owner.subject, key)
        return note_from_row(row) if row else None

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
        key = _uuid(note_id)
        if key is None:
            return None
        row = await self._one(
            "UPDATE notes SET title = COALESCE($4, title), body = COALESCE($5, body),"
            " tags = COALESCE($6, tags), version = version + 1, updated_at = now()"
            " WHERE tenant = $1 AND subject = $2 AND id = $3 AND ($7::int IS NULL OR version = $7)"
            f" RETURNING {NOTE_COLUMNS}",
            owner.tenant,
            owner.subject,
            key,
            title,
            body,
            list(tags) if tags is not None else None,
            expected_version,
        )
        if row:
            return note_from_row(row)
        current = await self.get(owner, note_id)
        if current is not None:
            raise VersionConflict(note_id, current.version, expected_version)
        return None

    async def delete(self, owner: Owner, note_id: str) -> bool:
        key = _uuid(note_id)
        if key is None:
            return False
        async with self._connection() as conn:
            status = await conn.execute(
                "DELETE FROM notes WHERE tenant = $1 AND subject = $2 AND id = $3",
                owner.tenant,
                owner.subject,
                key,
            )
        return status == "DELETE 1"

    async def search(
        self, owner: Owner, query: str, tag: str | None, limit: int, offset: int
    ) -> list[SearchHit]:
        # websearch_to_tsquery accepts any text (quotes, -, or, punctuation) and never raises:
        # user input is data here, not tsquery syntax.
        async with self._connection() as conn:
            rows = await conn.fetch(
                "WITH q AS (SELECT websearch_to_tsquery('english', $3) AS query)"
                f" SELECT id::text, title, ts_headline('english', body, q.query, '{HEADLINE}') AS snippet,"
                " tags, ts_rank_cd(search, q.query) AS rank, updated_at"
                " FROM notes, q WHERE tenant = $1 AND subject = $2 AND search @@ q.query"
                " AND ($4::text IS NULL OR tags @> ARRAY[$4::text])"
                " ORDER BY rank DESC, updated_at DESC, id LIMIT $5 OFFSET $6",
                owner.tenant,
                owner.subject,
                query,
                tag,
                limit,
                offset,
            )
        return [
            SearchHit(
                r["id"],
                r["title"],
                r["snippet"],
                tuple(r["tags"]),
                float(r["rank"]),
                r["updated_at"],
            )
            for r in rows
        ]

    async def tags(self, owner: Owner) -> list[tuple[str, int]]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT tag, count(*) AS n FROM notes, unnest(tags) AS tag"
                " WHERE tenant = $1 AND subject = $2 GROUP BY tag ORDER BY n DESC, tag",
                owner.tenant,
                owner.subject,
            )
        return [(r["tag"], r["n"]) for r in rows]

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1")

    def in_use(self) -> int:
        return self._pool.in_use()

    async def close(self) -> None:
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """A pooled connection; any sign that Postgres cannot serve becomes StoreUnavailable."""
        try:
            conn = await self._pool.acquire()
        except Exception as error:
            if _unavailable(error):
                raise StoreUnavailable(type(error).__name__) from error
            raise
        broken = True  # also when cancelled mid-query: the connection's state is unknown
        try:
            yield conn
            broken = False
        except Exception as error:
            broken = _unavailable(error)  # a query's own error leaves the connection usable
            if broken:
                raise StoreUnavailable(type(error).__name__) from error
            raise
        finally:
            self._pool.release(conn, broken=broken)

    async def _one(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._connection() as conn:
            return await conn.fetchrow(sql, *args)


def _unavailable(error: BaseException) -> bool:
    # InternalClientError: what asyncpg raises on a connection whose server went away mid-use
    # ("cannot switch to state ..."); the pool discards that connection.
    lost = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    if isinstance(error, (*lost, asyncpg.PostgresConnectionError)):
        return True
    state = getattr(error, "sqlstate", None)
    return isinstance(state, str) and state[:2] in UNAVAILABLE_CLASSES


def _uuid(note_id: str) -> uuid.UUID | None:
    """A malformed id is simply a note that does not exist, never a database error."""
    try:
        return uuid.UUID(note_id)
    except (ValueError, TypeError, AttributeError):
        return None


def note_from_row(row: asyncpg.Record) -> Note:
    return Note(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        tags=tuple(row["tags"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
