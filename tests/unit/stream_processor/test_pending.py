"""Which offset may be committed once some entries are finished (never past a pending one), and
which events are done already (below the committed offset, or of a revoked partition)."""

from __future__ import annotations

import asyncio

import pytest

from fraudstream.stream_processor.pending import Entry, Pending

pytestmark = pytest.mark.unit


def entries(partition: int, offsets: range) -> list[Entry[None]]:
    return [Entry(("t", partition, o), None, None) for o in offsets]


async def test_the_commit_stops_below_the_first_entry_still_pending() -> None:
    pending: Pending[None] = Pending(100)
    await pending.put(entries(0, range(10)) + entries(1, range(5)))
    finished = [("t", 0, o) for o in (0, 1, 2, 4, 5)] + [("t", 1, o) for o in range(5)]
    assert pending.next_offsets(finished) == {("t", 0): 3, ("t", 1): 5}


async def test_once_the_held_entry_finishes_the_commit_jumps_past_everything_done() -> None:
    pending: Pending[None] = Pending(100)
    await pending.put(entries(0, range(10)))
    first = [("t", 0, o) for o in range(10) if o != 3]
    assert pending.next_offsets(first) == {("t", 0): 3}
    await pending.remove(first, {("t", 0): 3})
    assert pending.next_offsets([("t", 0, 3)]) == {("t", 0): 10}


async def test_a_revoked_partition_starts_afresh() -> None:
    pending: Pending[None] = Pending(100)
    await pending.put(entries(0, range(5)))
    await pending.remove([("t", 0, o) for o in range(5)], {("t", 0): 5})
    await pending.drop_partitions({("t", 0)})
    await pending.assign([("t", 0)], {("t", 0): 2})  # back, committed at 2 by someone
    await pending.put(entries(0, range(2, 4)))
    assert pending.next_offsets([("t", 0, 2)]) == {("t", 0): 3}


async def test_events_below_the_committed_offset_are_done_already() -> None:
    pending: Pending[None] = Pending(100)
    await pending.put(entries(0, range(5)))
    await pending.remove([("t", 0, o) for o in range(5)], {("t", 0): 5})
    await pending.put(entries(0, range(3, 7)))  # a stale delivery of 3 and 4, then 5 and 6
    assert [e.position[2] for e in pending.snapshot()] == [5, 6]
    assert pending.stale == 2


async def test_an_event_put_while_full_is_dropped_if_its_partition_was_revoked_meanwhile() -> None:
    pending: Pending[None] = Pending(2)
    await pending.put(entries(0, range(2)))
    blocked = asyncio.create_task(pending.put(entries(0, range(2, 4))))  # waits for room
    await asyncio.sleep(0)
    await pending.drop_partitions({("t", 0)})  # the rebalance: room, and not ours any more
    await blocked
    assert pending.snapshot() == []
    await pending.assign([("t", 0)], {})
    await pending.put(entries(0, range(2, 4)))  # delivered again by the next assignment
    assert len(pending) == 2


async def test_with_no_window_a_batch_starts_with_the_first_entry() -> None:
    pending: Pending[None] = Pending(100)
    waiting = asyncio.create_task(pending.wait_batch(50, 0.0))
    await asyncio.sleep(0)
    assert not waiting.done()  # nothing pending: it waits
    await pending.put(entries(0, range(3)))
    await asyncio.wait_for(waiting, 1.0)  # three of fifty: it does not wait for more
    assert len(pending.snapshot()) == 3


async def test_with_a_window_a_batch_waits_for_more_until_it_is_full() -> None:
    pending: Pending[None] = Pending(100)
    await pending.put(entries(0, range(3)))
    waiting = asyncio.create_task(pending.wait_batch(5, 60.0))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # three of five, the window still open
    await pending.put(entries(0, range(3, 5)))
    await asyncio.wait_for(waiting, 1.0)
