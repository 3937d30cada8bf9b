"""The per-replica request cap: slots handed over in order, a bounded wait, nothing leaked."""

from __future__ import annotations

import asyncio

from mcp_notes.http.gate import Gate


async def test_a_freed_slot_goes_to_the_waiter_and_a_long_wait_is_refused() -> None:
    gate = Gate(2, wait_seconds=0.2)
    assert await gate.enter()
    assert await gate.enter()
    waiting = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.05)
    gate.leave()
    assert await waiting, "the slot someone left is handed to the one waiting"
    assert not await gate.enter(), "no slot frees within the wait: refused"
    gate.leave()
    gate.leave()
    assert [await gate.enter() for _ in range(3)] == [True, True, False], "both slots came back, no more"


async def test_waiters_are_served_first_come_first_served() -> None:
    gate = Gate(1, wait_seconds=1)
    assert await gate.enter()
    order: list[int] = []

    async def wait(n: int) -> None:
        if await gate.enter():
            order.append(n)
            gate.leave()

    tasks = [asyncio.create_task(wait(n)) for n in range(5)]
    await asyncio.sleep(0.01)
    gate.leave()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
