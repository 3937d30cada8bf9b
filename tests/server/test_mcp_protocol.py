"""The knowledge base through real HTTP to a running server, called by the official MCP client
in both protocol modes: the 2026-07-28 stateless protocol and the older initialize handshake."""

from __future__ import annotations

import json

import pytest
from mcp import MCPError
from mcp_types import ElicitResult, TextResourceContents

from tests.server.issuer import Issuer
from tests.server.mcp_client import MODES, connect, error_text, structured
from tests.server.server_process import PUBLIC_URL, ServerProcess


@pytest.mark.parametrize("mode", MODES)
async def test_notes_round_trip(server: ServerProcess, issuer: Issuer, mode: str) -> None:
    token = issuer.token(PUBLIC_URL, subject=f"writer-{mode}")
    async with connect(server.url, token, mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"create_note", "get_note", "update_note", "delete_note", "search_notes", "list_tags"}

        note = structured(
            await client.call_tool(
                "create_note",
                {"title": "Failover runbook", "body": "Promote the standby.", "tags": ["ops", "db"]},
            )
        )
        assert note["version"] == 1
        assert (
            structured(await client.call_tool("get_note", {"note_id": note["id"]}))["title"]
            == "Failover runbook"
        )

        updated = structured(
            await client.call_tool(
                "update_note",
                {
                    "note_id": note["id"],
                    "body": "Promote the standby, then repoint DNS.",
                    "expected_version": 1,
                },
            )
        )
        assert updated["version"] == 2
        stale = await client.call_tool(
            "update_note", {"note_id": note["id"], "title": "x", "expected_version": 1}
        )
        assert "at version 2, not 1" in error_text(stale)

        resource = (await client.read_resource(f"notes://{note['id']}")).contents[0]
        assert isinstance(resource, TextResourceContents)
        assert json.loads(resource.text)["body"] == "Promote the standby, then repoint DNS."
        assert structured(await client.call_tool("list_tags", {}))["tags"] == [
            {"tag": "db", "notes": 1},
            {"tag": "ops", "notes": 1},
        ]

        refused = await client.call_tool("delete_note", {"note_id": note["id"]})
        assert "confirm=true" in error_text(refused)
        assert (
            structured(await client.call_tool("delete_note", {"note_id": note["id"], "confirm": True}))[
                "deleted"
            ]
            is True
        )
        assert "not found" in error_text(await client.call_tool("get_note", {"note_id": note["id"]}))


@pytest.mark.parametrize("mode", MODES)
async def test_search_is_ranked_and_paginated(server: ServerProcess, issuer: Issuer, mode: str) -> None:
    token = issuer.token(PUBLIC_URL, subject=f"searcher-{mode}")
    async with connect(server.url, token, mode) as client:
        for i in range(5):
            await client.call_tool("create_note", {"title": f"Kafka note {i}", "body": "consumer lag alarms"})
        await client.call_tool("create_note", {"title": "Unrelated", "body": "lunch menu"})
        first = structured(await client.call_tool("search_notes", {"query": "kafka lag", "limit": 3}))
        assert len(first["results"]) == 3
        assert first["next_cursor"]
        second = structured(
            await client.call_tool(
                "search_notes", {"query": "kafka lag", "limit": 3, "cursor": first["next_cursor"]}
            )
        )
        assert len(second["results"]) == 2
        assert second["next_cursor"] is None
        titles = {r["title"] for r in first["results"] + second["results"]}
        assert titles == {f"Kafka note {i}" for i in range(5)}
        wrong = await client.call_tool(
            "search_notes", {"query": "other", "limit": 3, "cursor": first["next_cursor"]}
        )
        assert "different search" in error_text(wrong)


@pytest.mark.parametrize("mode", MODES)
async def test_nobody_can_read_change_or_detect_another_callers_notes(
    server: ServerProcess, issuer: Issuer, mode: str
) -> None:
    alice = issuer.token(PUBLIC_URL, subject=f"alice-{mode}")
    mallory = issuer.token(PUBLIC_URL, subject=f"mallory-{mode}")
    async with connect(server.url, alice, mode) as client:
        secret = structured(
            await client.call_tool(
                "create_note", {"title": "Acquisition plan", "body": "codename bluebird", "tags": ["secret"]}
            )
        )
    async with connect(server.url, mallory, mode) as client:
        missing = "00000000-0000-4000-8000-000000000000"
        for tool, args in [
            ("get_note", {"note_id": secret["id"]}),
            ("update_note", {"note_id": secret["id"], "title": "pwned"}),
            ("update_note", {"note_id": secret["id"], "title": "pwned", "expected_version": 7}),
            ("delete_note", {"note_id": secret["id"], "confirm": True}),
        ]:
            theirs = error_text(await client.call_tool(tool, args))
            nobodys = error_text(await client.call_tool(tool, {**args, "note_id": missing}))
            assert theirs == nobodys.replace(missing, secret["id"])  # indistinguishable
        assert structured(await client.call_tool("search_notes", {"query": "bluebird"}))["results"] == []
        assert structured(await client.call_tool("list_tags", {}))["tags"] == []
        with pytest.raises(MCPError) as caught:
            await client.read_resource(f"notes://{secret['id']}")
        assert "not found" in caught.value.error.message
    async with connect(server.url, alice, mode) as client:
        assert (
            structured(await client.call_tool("get_note", {"note_id": secret["id"]}))["title"]
            == "Acquisition plan"
        )


async def test_delete_asks_the_user_on_the_new_protocol(server: ServerProcess, issuer: Issuer) -> None:
    asked: list[str] = []

    async def answer(_ctx, params):  # the user's answer, as the client's UI would give it
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": len(asked) > 1})

    token = issuer.token(PUBLIC_URL, subject="eliciter")
    async with connect(server.url, token, "2026-07-28", elicitation_callback=answer) as client:
        note = structured(await client.call_tool("create_note", {"title": "Old draft", "body": "x"}))
        kept = structured(await client.call_tool("delete_note", {"note_id": note["id"]}))
        assert kept == {"deleted": False, "id": note["id"]}  # the user said no
        gone = structured(await client.call_tool("delete_note", {"note_id": note["id"]}))
        assert gone == {"deleted": True, "id": note["id"]}
    assert asked == ['Delete the note "Old draft" for good? This cannot be undone.'] * 2


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "t" * 201, "body": "x"}, "title"),
        ({"title": "t", "body": "x" * 70_000}, "70000 bytes; the limit is 65536 bytes"),
        ({"title": "t", "body": "x", "tags": ["Not Valid!"]}, "tags must match"),
        ({"title": "t\x00", "body": "x"}, "title must not contain NUL"),
        ({"title": "t", "body": "x\x00y"}, "body must not contain NUL"),
        ({"title": "t", "body": 42}, "body"),
        ({"title": "t"}, "body"),
    ],
)
async def test_bad_arguments_are_tool_errors_that_say_what_to_fix(
    server: ServerProcess, issuer: Issuer, arguments: dict, expected: str
) -> None:
    async with connect(server.url, issuer.token(PUBLIC_URL, subject="careless"), "2026-07-28") as client:
        assert expected in error_text(await client.call_tool("create_note", arguments))
        with pytest.raises(MCPError, match="Unknown tool: no_such_tool"):
            await client.call_tool("no_such_tool", {})


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("search_notes", {"query": "a\x00b"}, "query must not contain NUL"),
        ("search_notes", {"query": "a", "tag": "x" * 100_000}, "tag must match"),
        (
            "update_note",
            {"note_id": "00000000-0000-4000-8000-000000000000", "title": "t", "expected_version": 2**40},
            "expected_version",
        ),
    ],
)
async def test_arguments_the_database_cannot_take_are_refused_before_it(
    server: ServerProcess, issuer: Issuer, tool: str, arguments: dict, expected: str
) -> None:
    async with connect(server.url, issuer.token(PUBLIC_URL, subject="edgy"), "2026-07-28") as client:
        assert expected in error_text(await client.call_tool(tool, arguments))
    assert not [e for e in server.logs() if e.get("level") == "ERROR"], "no tool may crash"
