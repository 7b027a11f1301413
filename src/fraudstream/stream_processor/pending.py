"""The growing, bounded batch: events pulled from Kafka and not yet acknowledged.

Keyed by (topic, partition, offset), so an event Faust delivers again after a rebalance replaces
its stale twin instead of being scored twice. ``put`` waits while the set is full: that wait is
the back-pressure that stops the agent from pulling more from Kafka.

What is already done never comes back: ``put`` drops events of partitions revoked from this
worker (Faust may still hold some it fetched before, and an agent blocked by back-pressure puts
them after the revocation) and events below their partition's committed offset (the *floor*:
read from the group at assignment, then moved by every commit of this worker). Without it, a
stale event would find its verdict stored from its own position, take itself for a crash's
replay, and publish that verdict a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Position = tuple[str, int, int]
"""(topic, partition, offset)."""


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    position: Position
    event: Any
    """The Faust event, acknowledged once the verdict is stored (opaque here)."""
    item: T
    """What the scorer needs of the event (decoded transaction and its raw bytes)."""

    @property
    def partition(self) -> tuple[str, int]:
        return self.position[0], self.position[1]


class Pending(Generic[T]):
    """At most ``capacity`` entries, in arrival order."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[Position, Entry[T]] = {}
        self._changed = asyncio.Condition()
        self._finished_up_to: dict[tuple[str, int], int] = {}
        """Per partition, the highest offset finished so far (see :meth:`next_offsets`)."""
        self._floor: dict[tuple[str, int], int] = {}
        """Per partition, the committed offset: every event below it is done."""
        self._revoked: set[tuple[str, int]] = set()
        self.high_water = 0
        self.stale = 0
        """Events dropped because they were done already or their partition was revoked."""

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, entries: Sequence[Entry[T]]) -> None:
        """Add entries, waiting while the set is full (back-pressure on the agent)."""
        async with self._changed:
            for entry in entries:
                await self._changed.wait_for(lambda: len(self._entries) < self.capacity)
                if self._done(entry):  # checked after the wait: a rebalance may have come
                    self.stale += 1
                    continue
                self._entries.pop(entry.position, None)  # a re-delivery replaces its twin
                self._entries[entry.position] = entry
                self.high_water = max(self.high_water, len(self._entries))
            self._changed.notify_all()

    async def wait_batch(self, size: int, seconds: float) -> None:
        """Wait for something pending, then, when ``seconds`` > 0, until ``size`` entries are
        pending or ``seconds`` passed.

        With ``seconds`` 0 the batch is whatever is pending when the scorer is free (dynamic
        batching, as Triton and BentoML do): an attempt starts at once, and the entries that
        arrived during the previous attempt make the next batch. Fixed costs per attempt (a
        request, a PostgreSQL commit, a Kafka transaction) are paid once per batch, and a quiet
        stream still answers within ``seconds``."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._entries))
            if seconds <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._changed.wait_for(lambda: len(self._entries) >= size)

    def _done(self, entry: Entry[T]) -> bool:
        partition = entry.partition
        return partition in self._revoked or entry.position[2] < self._floor.get(partition, -1)

    def snapshot(self) -> list[Entry[T]]:
        """Everything pending now, in arrival order: the batch of the next attempt."""
        return list(self._entries.values())

    async def remove(
        self, positions: Iterable[Position], committed: Mapping[tuple[str, int], int]
    ) -> None:
        """Entries finished and ``committed`` offsets (partition -> next offset) in Kafka: the
        entries are gone, remembered as finished, and the floors move up."""
        async with self._changed:
            for position in positions:
                self._entries.pop(position, None)
                key = (position[0], position[1])
                self._finished_up_to[key] = max(self._finished_up_to.get(key, -1), position[2])
            for partition, offset in committed.items():
                self._floor[partition] = max(self._floor.get(partition, -1), offset)
            self._changed.notify_all()

    def next_offsets(self, finished: Iterable[Position]) -> dict[tuple[str, int], int]:
        """For each partition of ``finished``: the offset to commit once those entries are done.

        That is the first offset still pending below them (a message held back for another
        attempt keeps its partition's commit where it is), else the one after the highest offset
        ever finished. Kafka delivers a partition in order, so everything below that is either
        finished or pending here.
        """
        done: dict[tuple[str, int], int] = {}
        gone = set()
        for topic, partition, offset in finished:
            key = (topic, partition)
            done[key] = max(done.get(key, self._finished_up_to.get(key, -1)), offset)
            gone.add((topic, partition, offset))
        commit = {key: last + 1 for key, last in done.items()}
        for position in self._entries:
            key = (position[0], position[1])
            if key in commit and position not in gone and position[2] < commit[key]:
                commit[key] = position[2]
        return commit

    async def drop_partitions(self, partitions: set[tuple[str, int]]) -> int:
        """Forget the entries of revoked partitions, unacknowledged: their next owner replays
        them from the last committed offset. Until they are assigned again, ``put`` drops
        their events."""
        async with self._changed:
            gone = [p for p, e in self._entries.items() if e.partition in partitions]
            for position in gone:
                del self._entries[position]
            for partition in partitions:
                self._finished_up_to.pop(partition, None)
                self._floor.pop(partition, None)
            self._revoked |= partitions
            self._changed.notify_all()
            return len(gone)

    async def assign(
        self, partitions: Iterable[tuple[str, int]], floors: Mapping[tuple[str, int], int]
    ) -> None:
        """``partitions`` are this worker's (again), each with the group's committed offset
        where known (``floors``)."""
        async with self._changed:
            for partition in partitions:
                self._revoked.discard(partition)
                if partition in floors:
                    self._floor[partition] = floors[partition]
