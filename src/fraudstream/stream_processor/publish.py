"""What the stream writes to Kafka, and the one transaction that writes it.

An attempt of the scorer collects its output here: a verdict message per transaction scored
(or replayed), a dead letter per message set aside, and the messages it finished. After the
attempt's PostgreSQL writes, :class:`Publisher` commits the output and the input offsets in one
Kafka transaction: a ``read_committed`` consumer of the verdicts topic sees each verdict once,
and an offset moves only when what its message produced is stored and published.

:class:`DeadLetters` is the one dead-letter policy of the stream (the scorer's and the labels
sink's): the dead letter, and its row in PostgreSQL for the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from pydantic import BaseModel

from fraudstream import dead_letters
from fraudstream.errors import RowsRefused, StorageError
from fraudstream.kafka.transactions import Offsets, Outgoing, TransactionalProducer
from fraudstream.schema import Verdict
from fraudstream.storage.models import DeadLetter
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.pending import Entry, Pending

log = logging.getLogger(__name__)


def verdict_json(verdict: Verdict) -> bytes:
    """The topic's JSON of a verdict, from the pydantic model or from its fast struct (the
    same fields, names and formats; ``docs/verdict.schema.json`` describes both)."""
    if isinstance(verdict, BaseModel):
        return verdict.model_dump_json().encode()
    return msgspec.json.encode(verdict)


class Mirror(Protocol):
    """Where the stream mirrors its dead letters (``storage.repository.Repository``)."""

    async def record_dead_letters(self, letters: Sequence[DeadLetter]) -> int: ...


class DeadLetters:
    """The stream's one way to set a message aside, for the scorer and the labels sink alike.

    Each message becomes a dead letter (:func:`fraudstream.dead_letters.letter`: the headers,
    the size limit) and a row of the PostgreSQL mirror, which the dashboard shows. The mirror is
    written first and is idempotent (one row per source position), so an attempt redone after a
    failure adds none. A database that is away or broken (any :class:`StorageError` but
    :class:`RowsRefused`) raises: the caller retries, as for any outage, and nothing is
    published. A row the database refuses, or any other failure of the mirror, is logged and the
    dead letter still goes out: the topic is the record; the mirror only shows it.
    """

    def __init__(self, topic: str, mirror: Mirror, publisher: Publisher) -> None:
        self.topic = topic
        self.mirror = mirror
        self.publisher = publisher

    async def set_aside(self, letters: Sequence[tuple[Incoming, str]]) -> list[Outgoing]:
        """Mirror ``(message, reason)`` pairs; their dead letters, for the caller to publish in
        its own Kafka transaction (the scorer's, with its verdicts and offsets)."""
        if not letters:
            return []
        now = datetime.now(UTC)
        rows: list[DeadLetter] = []
        messages: list[Outgoing] = []
        for message, reason in letters:
            source = f"{message.topic}:{message.partition}:{message.offset}"
            found = dead_letters.letter(message.key, message.raw, reason, source, now)
            rows.append(
                DeadLetter(
                    failed_at=now,
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    reason=found.reason,
                    key=found.key,
                    payload=found.value,
                )
            )
            messages.append(Outgoing(self.topic, found.value, found.key, found.headers))
        try:
            await self.mirror.record_dead_letters(rows)
        except StorageError as exc:
            if not isinstance(exc, RowsRefused):
                raise
            log.error("dead letters not mirrored in PostgreSQL: %s", exc)
        except Exception as exc:  # a value the driver will not take: the topic is the record
            log.error("dead letters not mirrored in PostgreSQL: %s: %s", type(exc).__name__, exc)
        for row in rows:
            log.info("dead letter %s[%d]@%d: %s", row.topic, row.partition, row.offset, row.reason)
        return messages

    async def send(self, letters: Sequence[tuple[Incoming, str]]) -> None:
        """Mirror and publish at once, in a Kafka transaction of their own and without offsets
        (the labels sink, whose events Faust acknowledges)."""
        messages = await self.set_aside(letters)
        if messages:
            await self.publisher.publish(messages)


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
        """Messages without offsets (the labels sink's dead letters, :meth:`DeadLetters.send`)."""
        await self._thread(self.producer.commit, list(messages), {})

    def committed(self, partitions: Sequence[tuple[str, int]]) -> Offsets:
        """Offsets this worker committed (what it hands over on a rebalance)."""
        return {tp: self._committed[tp] for tp in partitions if tp in self._committed}

    def forget(self, partitions: set[tuple[str, int]]) -> None:
        for tp in partitions:
            self._committed.pop(tp, None)
