"""The store's connection pool against real Postgres: bounded, waits then times out, never
hands out a connection in an unknown state, and loses no slot when a connection is dropped."""

from __future__ import annotations

import asyncio

import pytest

from mcp_notes.notes.pg_pool import ConnectionPool


async def test_past_max_size_acquire_waits_for_a_release_then_times_out(database_url: str) -> None:
    pool = ConnectionPool(database_url, max_size=2, acquire_timeout=0.3, timeout=5)
    try:
        first, second = await pool.acquire(), await pool.acquire()
        waiting = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.05)
        pool.release(first)
        assert await waiting is first, "the released connection goes to the one waiting"
        with pytest.raises(TimeoutError):
            await pool.acquire()
        assert pool.in_use() == 2
        pool.release(second)
        pool.release(first)
        assert pool.in_use() == 0
    finally:
        await pool.close()


async def test_a_broken_or_mid_transaction_connection_is_closed_and_its_slot_reused(
    database_url: str,
) -> None:
    pool = ConnectionPool(database_url, max_size=1, acquire_timeout=2, timeout=5)
    try:
        conn = await pool.acquire()
        transaction = conn.transaction()
        await transaction.start()  # left open, as a cancelled request could leave it
        pool.release(conn)
        assert conn.is_closed()
        again = await pool.acquire()  # the one slot came back: a new connection
        assert again is not conn
        assert await again.fetchval("SELECT 1") == 1
        waiting = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.05)
        pool.release(again, broken=True)
        fresh = await asyncio.wait_for(waiting, 5)  # the waiter got the slot and opened anew
        assert fresh is not again
        assert await fresh.fetchval("SELECT 2") == 2
        pool.release(fresh)
        assert pool.in_use() == 0
    finally:
        await pool.close()


async def test_a_failed_connect_gives_its_slot_back(database_url: str) -> None:
    bad = database_url.rsplit("/", 1)[0] + "/no_such_database_here"
    pool = ConnectionPool(bad, max_size=1, acquire_timeout=1, timeout=5)
    for _ in range(3):  # a lost slot would turn the later tries into timeouts
        with pytest.raises(Exception, match="does not exist"):
            await pool.acquire()
    assert pool.in_use() == 0
    await pool.close()
