"""What the stream writes to Kafka, and the one transaction that writes it.

An attempt of the scorer collects its output here: a verdict message per transaction scored
(or replayed), a dead letter per message set aside, and the messages it finished. After the
attempt's PostgreSQL writes, :class:`Publisher` commits the output and the input offsets in one
Kafka transaction: a ``read_committed`` consumer of the verdicts topic sees each verdict once,
and an offset moves only when what its message produced is stored and published.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from pydantic import BaseModel

from fraudstream import dead_letters
from fraudstream.kafka.transactions import Offsets, Outgoing, TransactionalProducer
from fraudstream.schema import Verdict
from fraudstream.storage.models import DeadLetter
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.pending import Entry, Pending


def verdict_json(verdict: Verdict) -> bytes:
    """The topic's JSON of a verdict, from the pydantic model or from its fast struct (the
    same fields, names and formats; ``docs/verdict.schema.json`` describes both)."""
    if isinstance(verdict, BaseModel):
        return verdict.model_dump_json().encode()
    return msgspec.json.encode(verdict)


def dead_letter(message: Incoming, reason: str, topic: str) -> tuple[DeadLetter, Outgoing]:
    """A message set aside: its PostgreSQL mirror (for the dashboard) and its dead letter."""
    now = datetime.now(UTC)
    reason = dead_letters.clean_reason(reason)
    source = f"{message.topic}:{message.partition}:{message.offset}"
    key, value, truncated = dead_letters.fit(message.key, message.raw)
    row = DeadLetter(
        failed_at=now,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=reason,
        key=key,
        payload=value,
    )
    headers = dead_letters.headers(reason, source, now, truncated)
    return row, Outgoing(topic, value, key, headers)


@dataclass
class Output:
    """What one attempt finished: the messages to produce, and the entries done with."""

    messages: list[Outgoing] = field(default_factory=list)
    finished: list[Entry[Incoming]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.messages or self.finished)


class Publisher:
    """Commits an attempt's output with its input offsets, then lets go of what it finished."""

    def __init__(
        self,
        producer: TransactionalProducer,
        pending: Pending[Incoming],
        run_in_thread: Callable[..., Any],
    ) -> None:
        self.producer = producer
        self.pending = pending
        self._thread = run_in_thread
        self._committed: dict[tuple[str, int], int] = {}

    async def commit(self, output: Output) -> None:
        """One Kafka transaction: the messages, and every partition's offset moved past what
        was finished. Raises BrokerError (nothing visible, nothing moved) when it did not
        commit; the entries then stay pending and the next attempt publishes them again."""
        positions = [e.position for e in output.finished]
        offsets = {
            tp: offset
            for tp, offset in self.pending.next_offsets(positions).items()
            if offset > self._committed.get(tp, -1)
        }
        await self._thread(self.producer.commit, output.messages, offsets)
        self._committed.update(offsets)
        await self.pending.remove(positions, offsets)

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Messages without offsets (the labels sink's dead letters)."""
        await self._thread(self.producer.commit, list(messages), {})

    def committed(self, partitions: Sequence[tuple[str, int]]) -> Offsets:
        """Offsets this worker committed (what it hands over on a rebalance)."""
        return {tp: self._committed[tp] for tp in partitions if tp in self._committed}

    def forget(self, partitions: set[tuple[str, int]]) -> None:
        for tp in partitions:
            self._committed.pop(tp, None)
