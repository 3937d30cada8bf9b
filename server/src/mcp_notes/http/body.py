"""The request body, read once at the edge (http/edge.py) and handed to the layers inside:
Guard reads it from the scope, the SDK's transport from a replayed `receive`."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope

BODY_KEY = "mcp_notes.body"  # scope key: (the body read, whether it is over the size limit)


def stashed(scope: Scope) -> tuple[bytes, bool]:
    return scope[BODY_KEY]


def replay(scope: Scope, body: bytes, more: bool, limit: int, receive: Receive) -> Receive:
    """Keep the body in the scope and return a `receive` that gives it first, then the real one
    (past the limit the transport reads on and answers 413)."""
    scope[BODY_KEY] = (body, more or len(body) > limit)
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
