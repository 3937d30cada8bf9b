"""The knowledge-base tools and the note resource template.

Every call acts for the owner named by the verified token; a note of anyone else is reported
exactly like a note that does not exist. Errors a caller can fix come back as tool errors
(`isError: true`) whose text says what to change.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

from mcp_notes.http.request_info import current
from mcp_notes.notes.model import (
    QUERY_MAX_CHARS,
    SEARCH_LIMIT_MAX,
    TAGS_MAX,
    TITLE_MAX_CHARS,
    VERSION_MAX,
    Note,
    NoteError,
    Owner,
    StoreUnavailable,
    check_body,
    check_query,
    check_tag,
    check_tags,
    check_title,
)
from mcp_notes.notes.store import NoteStore
from mcp_notes.shared.search_cache import SearchCache

RETRY_AFTER_SECONDS = 1
READ_TOOLS = frozenset({"get_note", "search_notes", "list_tags"})
WRITE_TOOLS = frozenset({"create_note", "update_note", "delete_note"})
LOCAL_OWNER = Owner("local-developer")
P = ParamSpec("P")
R = TypeVar("R")  # auth off: only ever on a loopback bind


@dataclass
class Deps:
    """What the tools need; filled in by the app's lifespan before the first request."""

    store: NoteStore | None = None
    cache: SearchCache | None = None
    note_max_bytes: int = 65_536
    auth_enabled: bool = True


class NoteOut(BaseModel):
    id: str
    title: str
    body: str
    tags: list[str]
    version: int
    created_at: str
    updated_at: str


class SearchOut(BaseModel):
    results: list[dict[str, Any]]
    next_cursor: str | None = Field(description="pass back as `cursor` for the next page; null at the end")


class TagCount(BaseModel):
    tag: str
    notes: int


class TagsOut(BaseModel):
    tags: list[TagCount]


class DeleteOut(BaseModel):
    deleted: bool
    id: str


Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_CHARS)]
Tags = Annotated[list[str], Field(max_length=TAGS_MAX, description="lowercase words: a-z, 0-9, - and _")]


def register(server: MCPServer[Any], deps: Deps) -> None:
    """Add every tool and the `notes://{note_id}` template to `server`."""

    def store() -> NoteStore:
        assert deps.store is not None, "the app lifespan opens the store before serving"
        return deps.store

    def owner() -> Owner:
        token = get_access_token()
        if token is None:
            if deps.auth_enabled:  # RequireAuth lets nothing through without one
                raise ToolError("not authenticated")
            return LOCAL_OWNER
        # Never the client_id: any client may name any client_id, so only the verified,
        # non-empty `sub` (within its tenant) says whose notes these are.
        if not token.subject:
            raise ToolError("not authenticated")
        tenant = str((token.claims or {}).get("tenant") or "")
        return Owner(subject=token.subject, tenant=tenant)

    async def changed(who: Owner) -> None:
        if deps.cache is not None:
            await deps.cache.invalidate(who)

    @server.tool()
    @_answerable
    async def create_note(title: Title, body: str, tags: Tags | None = None) -> NoteOut:
        """Create a note. The body is Markdown or plain text; tags group notes for search."""
        who = owner()
        with _fixable():
            note = await store().create(
                who, check_title(title), check_body(body, deps.note_max_bytes), check_tags(tags or [])
            )
        await changed(who)
        return _out(note)

    @server.tool()
    @_answerable
    async def get_note(note_id: str) -> NoteOut:
        """Fetch one of your notes by id."""
        note = await store().get(owner(), note_id)
        if note is None:
            raise ToolError(f"note {note_id} not found")
        return _out(note)

    @server.tool()
    @_answerable
    async def update_note(
        note_id: str,
        title: Title | None = None,
        body: str | None = None,
        tags: Tags | None = None,
        expected_version: Annotated[int | None, Field(ge=1, le=VERSION_MAX)] = None,
    ) -> NoteOut:
        """Change a note's title, body or tags; fields left out stay as they are. Pass the
        version you read as `expected_version` to refuse the update if someone changed it since."""
        who = owner()
        with _fixable():
            note = await store().update(
                who,
                note_id,
                title=check_title(title) if title is not None else None,
                body=check_body(body, deps.note_max_bytes) if body is not None else None,
                tags=check_tags(tags) if tags is not None else None,
                expected_version=expected_version,
            )
        if note is None:
            raise ToolError(f"note {note_id} not found")
        await changed(who)
        return _out(note)

    @server.tool()
    @_answerable
    async def delete_note(
        note_id: str, ctx: Context, confirm: bool = False
    ) -> DeleteOut | InputRequiredResult:
        """Delete a note for good. Clients that can ask their user are asked to confirm;
        others must pass confirm=true."""
        who = owner()
        note = await store().get(who, note_id)
        if note is None:
            raise ToolError(f"note {note_id} not found")
        if not confirm:
            answer = _confirmation(ctx)
            if answer is None:
                if not _can_elicit(ctx):
                    raise ToolError("deleting is permanent: call delete_note again with confirm=true")
                return _ask_to_delete(note)
            if not answer:
                return DeleteOut(deleted=False, id=note_id)
        deleted = await store().delete(who, note_id)
        await changed(who)
        return DeleteOut(deleted=deleted, id=note_id)

    @server.tool()
    @_answerable
    async def search_notes(
        query: Annotated[str, Field(min_length=1, max_length=QUERY_MAX_CHARS)],
        tag: str | None = None,
        limit: Annotated[int, Field(ge=1, le=SEARCH_LIMIT_MAX)] = 10,
        cursor: str | None = None,
    ) -> SearchOut:
        """Full-text search of your notes, best match first. Words are matched by stem; put a
        phrase in double quotes, exclude a word with -word. Page with `cursor`."""
        who = owner()
        with _fixable():
            query, tag = check_query(query), check_tag(tag)
            offset = _offset(cursor, query, tag, limit)
        params = {"query": query, "tag": tag, "limit": limit, "offset": offset}
        generation, cached = await deps.cache.lookup(who, params) if deps.cache is not None else (0, None)
        if cached is not None:
            return SearchOut.model_validate(cached)
        hits = await store().search(who, query, tag, limit + 1, offset)
        more = len(hits) > limit
        page = SearchOut(
            results=[hit.as_dict() for hit in hits[:limit]],
            next_cursor=_cursor(offset + limit, query, tag, limit) if more else None,
        )
        if deps.cache is not None:
            await deps.cache.put(who, generation, params, page.model_dump())
        return page

    @server.tool()
    @_answerable
    async def list_tags() -> TagsOut:
        """Your tags with how many notes carry each, most used first."""
        return TagsOut(tags=[TagCount(tag=t, notes=n) for t, n in await store().tags(owner())])

    @server.resource("notes://{note_id}", mime_type="application/json", name="note")
    @_answerable
    async def note_resource(note_id: str) -> str:
        """One of your notes as JSON."""
        note = await store().get(owner(), note_id)
        if note is None:
            raise ResourceNotFoundError(f"note {note_id} not found")
        return json.dumps(note.as_dict())


class _fixable:
    """Turn the caller's fixable mistakes into tool errors with the store's message."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        if isinstance(error, NoteError):
            raise ToolError(str(error)) from None


def _answerable(tool: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A database that does not answer is not the caller's fault: say so as a JSON-RPC error
    that clients can tell apart from a tool error, answered with 503 and Retry-After."""

    @functools.wraps(tool)
    async def answering(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await tool(*args, **kwargs)
        except StoreUnavailable as error:
            info = current()
            if info is not None:
                info.unavailable, info.retry_after_seconds = "database", RETRY_AFTER_SECONDS
            raise MCPError(
                code=INTERNAL_ERROR,
                message=f"The database is unavailable ({error}); nothing was changed by a read, "
                f"retry in {RETRY_AFTER_SECONDS} s",
                data={
                    "retryable": True,
                    "retry_after_seconds": RETRY_AFTER_SECONDS,
                    "dependency": "database",
                },
            ) from None

    return answering


def _out(note: Note) -> NoteOut:
    return NoteOut.model_validate(note.as_dict())


def _can_elicit(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    return (
        ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        and capabilities is not None
        and capabilities.elicitation is not None
    )


def _ask_to_delete(note: Note) -> InputRequiredResult:
    schema = {
        "type": "object",
        "properties": {"confirm": {"type": "boolean", "title": "Delete this note"}},
        "required": ["confirm"],
    }
    message = f'Delete the note "{note.title}" for good? This cannot be undone.'
    return InputRequiredResult(
        input_requests={
            "confirm": ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))
        },
        request_state=note.id,  # sealed by the SDK with the replicas' shared key
    )


def _confirmation(ctx: Context) -> bool | None:
    """The user's answer on the retry of a delete, or None on the first call."""
    responses = ctx.input_responses
    if not responses or "confirm" not in responses:
        return None
    answer = responses["confirm"]
    return (
        isinstance(answer, ElicitResult)
        and answer.action == "accept"
        and bool((answer.content or {}).get("confirm"))
    )


def _search_key(query: str, tag: str | None, limit: int) -> str:
    return hashlib.sha256(json.dumps([query, tag, limit]).encode()).hexdigest()[:12]


def _cursor(offset: int, query: str, tag: str | None, limit: int) -> str:
    raw = json.dumps({"o": offset, "k": _search_key(query, tag, limit)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(cursor: str | None, query: str, tag: str | None, limit: int) -> int:
    if cursor is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(data["o"])
        key = data["k"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise NoteError("cursor is not one this server issued") from None
    if key != _search_key(query, tag, limit) or not 0 <= offset <= 10_000:
        raise NoteError("cursor belongs to a different search; start again without one")
    return offset
