"""The Kafka transaction beside the next attempt: a batch never waits for the broker, no
message is published twice, and whatever a transaction left undone comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.stream_core import TOPIC, Core, core, entry, record
from fraudstream.stream_processor.publish import Publisher

pytestmark = pytest.mark.unit


def held(c: Core) -> asyncio.Event:
    """Make each Kafka transaction of ``c`` wait for the returned gate."""
    gate = asyncio.Event()

    async def when_open(function: Callable[..., Any], *args: Any) -> Any:
        await gate.wait()
        return function(*args)

    c.scorer.publisher = Publisher(c.kafka, c.pending, when_open)  # type: ignore[arg-type]
    return gate


def verdicts(c: Core) -> list[str]:
    return c.kafka.verdicts(c.settings)


async def test_the_next_batch_is_scored_while_the_transaction_before_it_commits() -> None:
    c = core()
    gate = held(c)
    await c.put([entry(record(i), offset=i) for i in range(10)])
    assert await c.scorer.once() is None
    committing = asyncio.create_task(c.scorer.flush())
    await asyncio.sleep(0)  # the transaction has begun and waits on the broker

    await c.put([entry(record(i), offset=i) for i in range(10, 20)])
    assert await c.scorer.once() is None
    assert len(c.store.verdicts) == 20  # stored while Kafka had not answered
    assert c.kafka.committed == []

    gate.set()
    assert await committing is None
    assert await c.scorer.flush() is None
    [(first, offsets1), (second, offsets2)] = c.kafka.committed
    assert (len(first), offsets1) == (10, {(TOPIC, 0): 10})
    assert (len(second), offsets2) == (10, {(TOPIC, 0): 20})
    assert sorted(verdicts(c)) == [f"t{i:05d}" for i in range(20)]  # each once
    assert len(c.pending) == 0


async def test_attempts_stored_while_a_transaction_runs_share_the_next_one() -> None:
    c = core()
    for start in (0, 10, 20):
        await c.put([entry(record(i), offset=i) for i in range(start, start + 10)])
        assert await c.scorer.once() is None
    assert await c.scorer.flush() is None
    [(messages, offsets)] = c.kafka.committed
    assert len(messages) == 30
    assert offsets == {(TOPIC, 0): 30}


async def test_a_failed_transaction_gives_its_messages_back_to_the_next_batch() -> None:
    c = core()
    await c.put([entry(record(i), offset=i) for i in range(10)])
    assert await c.scorer.once() is None
    assert c.pending.batch() == []  # claimed: in no batch while their transaction runs
    c.kafka.down = True
    assert "Kafka is down" in (await c.scorer.flush() or "")
    assert len(c.pending.batch()) == 10

    c.kafka.down = False
    assert await c.attempt() is None  # their verdicts are stored: published again, once
    assert sorted(verdicts(c)) == [f"t{i:05d}" for i in range(10)]
    assert c.kafka.offsets() == {(TOPIC, 0): 10}


async def test_a_rebalance_commits_what_is_stored_before_the_partitions_go() -> None:
    c = core()
    await c.put([entry(record(i), offset=i, partition=1) for i in range(5)])
    assert await c.scorer.once() is None
    await c.scorer.on_revoked({(TOPIC, 1)})
    assert c.kafka.offsets() == {(TOPIC, 1): 5}  # handed over with the partition
    assert len(verdicts(c)) == 5


async def test_the_running_scorer_publishes_without_being_asked() -> None:
    c = core()
    committed = asyncio.Event()

    async def then_tell(function: Callable[..., Any], *args: Any) -> Any:
        result = function(*args)
        committed.set()
        return result

    c.scorer.publisher = Publisher(c.kafka, c.pending, then_tell)  # type: ignore[arg-type]
    running = asyncio.create_task(c.scorer.run())
    try:
        await c.put([entry(record(i), offset=i) for i in range(10)])
        async with asyncio.timeout(10):
            await committed.wait()
    finally:
        running.cancel()
    assert c.kafka.offsets() == {(TOPIC, 0): 10}
    assert sorted(verdicts(c)) == [f"t{i:05d}" for i in range(10)]
