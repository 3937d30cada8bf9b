"""The one interface both databases implement, so tools never know which is underneath."""

from __future__ import annotations

from typing import Protocol

from mcp_notes.notes.model import Note, Owner, SearchHit


class NoteStore(Protocol):
    """Every method takes the owner; no query can reach another owner's notes."""

    backend: str  # "postgres" | "sqlite", for /ready and logs

    async def create(self, owner: Owner, title: str, body: str, tags: tuple[str, ...]) -> Note: ...

    async def get(self, owner: Owner, note_id: str) -> Note | None: ...

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
        """None when the note does not exist for this owner; VersionConflict when
        `expected_version` is given and differs."""
        ...

    async def delete(self, owner: Owner, note_id: str) -> bool: ...

    async def search(
        self, owner: Owner, query: str, tag: str | None, limit: int, offset: int
    ) -> list[SearchHit]:
        """Ranked full-text matches, best first; `query` is user text, never query syntax."""
        ...

    async def tags(self, owner: Owner) -> list[tuple[str, int]]: ...

    async def ping(self) -> None: ...

    def in_use(self) -> int:
        """Connections checked out right now (the pool gauge)."""
        ...

    async def close(self) -> None: ...
