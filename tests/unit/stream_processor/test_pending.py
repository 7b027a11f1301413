"""Which offset may be committed once some entries are finished: never past a pending one."""

from __future__ import annotations

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
    await pending.remove(first)
    assert pending.next_offsets([("t", 0, 3)]) == {("t", 0): 10}


async def test_a_revoked_partition_starts_afresh() -> None:
    pending: Pending[None] = Pending(100)
    await pending.put(entries(0, range(5)))
    await pending.remove([("t", 0, o) for o in range(5)])
    await pending.drop_partitions({("t", 0)})
    await pending.put(entries(0, range(2, 4)))
    assert pending.next_offsets([("t", 0, 2)]) == {("t", 0): 3}
