"""What a note is, and the limits every store enforces the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

TITLE_MAX_CHARS = 200
TAGS_MAX = 20
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
QUERY_MAX_CHARS = 500
SEARCH_LIMIT_MAX = 50


class NoteError(Exception):
    """A request the caller can fix; the message says how."""


class StoreUnavailable(Exception):
    """The database did not answer (down, restarting, pool exhausted, too slow): nothing the
    caller did wrong, and the same request may well succeed in a moment."""


class VersionConflict(NoteError):
    def __init__(self, note_id: str, current: int, expected: int | None) -> None:
        super().__init__(
            f"note {note_id} is at version {current}, not {expected}; get it again and reapply your change"
        )


@dataclass(frozen=True)
class Owner:
    """Who a note belongs to: the token subject, within a tenant when one is configured."""

    subject: str
    tenant: str = ""


@dataclass(frozen=True)
class Note:
    id: str
    title: str
    body: str
    tags: tuple[str, ...]
    version: int
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "tags": list(self.tags),
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class SearchHit:
    id: str
    title: str
    snippet: str
    tags: tuple[str, ...]
    rank: float
    updated_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "snippet": self.snippet,
            "tags": list(self.tags),
            "rank": round(self.rank, 6),
            "updated_at": self.updated_at.isoformat(),
        }


VERSION_MAX = 2**31 - 1  # Postgres integer


def _no_nul(field: str, text: str) -> str:
    # Postgres text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in text:
        raise NoteError(f"{field} must not contain NUL characters")
    return text


def check_title(title: str) -> str:
    title = _no_nul("title", title).strip()
    if not title or len(title) > TITLE_MAX_CHARS:
        raise NoteError(f"title must be 1 to {TITLE_MAX_CHARS} characters")
    return title


def check_body(body: str, max_bytes: int) -> str:
    _no_nul("body", body)
    size = len(body.encode())
    if size > max_bytes:
        raise NoteError(f"body is {size} bytes; the limit is {max_bytes} bytes (UTF-8)")
    return body


def check_tags(tags: list[str]) -> tuple[str, ...]:
    # The count (TAGS_MAX) is bounded by the tool's argument schema, before this runs.
    bad = [tag for tag in tags if not TAG_PATTERN.match(tag)]
    if bad:
        raise NoteError(f"tags must match {TAG_PATTERN.pattern}; not {bad[:3]}")
    return tuple(sorted(set(tags)))


def check_tag(tag: str | None) -> str | None:
    if tag is not None and not TAG_PATTERN.match(tag):
        raise NoteError(f"tag must match {TAG_PATTERN.pattern}")
    return tag


def check_query(query: str) -> str:
    query = _no_nul("query", query).strip()
    if not query or len(query) > QUERY_MAX_CHARS:
        raise NoteError(f"query must be 1 to {QUERY_MAX_CHARS} characters")
    return query
