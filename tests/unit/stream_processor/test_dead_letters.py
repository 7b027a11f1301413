"""The stream's one dead-letter policy (:class:`DeadLetters`), for the scorer and the labels sink:
the row of the PostgreSQL mirror first, then the dead letter with the contract's headers; a
database outage stops both, a refused row stops neither."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from fixtures.inprocess import service_settings
from fixtures.stream_core import MemoryKafka, MemoryStore, _inline
from fraudstream.dead_letters import REASON_HEADER, SOURCE_HEADER
from fraudstream.errors import DatabaseUnavailable, RowsRefused
from fraudstream.schema import LabelEvent
from fraudstream.storage.models import DeadLetter, Label
from fraudstream.stream_processor.incoming import Incoming, decode
from fraudstream.stream_processor.labels import LabelsSink
from fraudstream.stream_processor.pending import Pending
from fraudstream.stream_processor.publish import DeadLetters, Publisher

pytestmark = pytest.mark.unit

LABELS = "labels"
DLQ = "transactions.dlq"


@dataclass
class LabelStore(MemoryStore):
    """The repository's labels on top of the scorer's memory store."""

    labels: dict[str, Label] = field(default_factory=dict)

    async def store_labels(self, labels: Sequence[Label]) -> int:
        self._check()
        for label in labels:
            self.labels[label.trans_num] = label
        return len(labels)


@dataclass
class RefusingMirror:
    error: Exception
    calls: int = 0

    async def record_dead_letters(self, letters: Sequence[DeadLetter]) -> int:
        self.calls += 1
        raise self.error


def publisher(kafka: MemoryKafka) -> Publisher:
    pending: Pending[Incoming] = Pending(10)
    return Publisher(kafka, pending, _inline)  # type: ignore[arg-type]


def message(offset: int, value: bytes) -> Any:
    """A Faust event as the labels agent hands it over (only ``.message`` is read)."""
    return SimpleNamespace(
        message=SimpleNamespace(
            topic=LABELS,
            partition=0,
            offset=offset,
            key=b"4000000000000002",
            value=value,
            timestamp=datetime.now(UTC).timestamp(),
        )
    )


def incoming(offset: int, value: bytes) -> Incoming:
    return decode(LABELS, 0, offset, b"k", value, datetime.now(UTC).timestamp())


def test_a_bad_label_is_mirrored_in_postgresql_and_published() -> None:
    settings = service_settings(topic_labels=LABELS, topic_dlq=DLQ)
    store, kafka = LabelStore(), MemoryKafka()
    sink = LabelsSink(settings.stream, settings.topics.dlq, store, publisher(kafka))  # type: ignore[arg-type]
    good = LabelEvent(trans_num="labelled-1", is_fraud=1, labelled_at=datetime.now(UTC))
    bad = b'{"trans_num": "labelled-2", "is_fraud": 7}'
    asyncio.run(sink.handle([message(0, good.model_dump_json().encode()), message(1, bad)]))

    assert set(store.labels) == {"labelled-1"}
    [row] = store.dead.values()
    assert (row.topic, row.partition, row.offset, row.payload) == (LABELS, 0, 1, bad)
    assert row.reason.startswith("not a label: ")
    assert "is_fraud" in row.reason
    [letter] = kafka.on(DLQ)
    assert letter.value == bad
    headers = dict(letter.headers or [])
    assert headers[REASON_HEADER].decode() == row.reason
    assert headers[SOURCE_HEADER].decode() == f"{LABELS}:0:1"
    # its own transaction: no offsets (Faust acknowledges the labels topic)
    assert kafka.committed[-1][1] == {}


def test_a_replayed_bad_label_adds_no_second_row() -> None:
    store, kafka = MemoryStore(), MemoryKafka()
    letters = DeadLetters(DLQ, store, publisher(kafka))
    bad = [(incoming(3, b"nope"), "not a label: record: invalid JSON")]
    asyncio.run(letters.send(bad))
    asyncio.run(letters.send(bad))
    assert len(store.dead) == 1
    assert len(kafka.on(DLQ)) == 2  # the topic is at-least-once for the labels sink


def test_a_database_outage_stops_the_dead_letter() -> None:
    kafka = MemoryKafka()
    mirror = RefusingMirror(DatabaseUnavailable("PostgreSQL is down (test)"))
    letters = DeadLetters(DLQ, mirror, publisher(kafka))
    with pytest.raises(DatabaseUnavailable):
        asyncio.run(letters.send([(incoming(0, b"nope"), "bad")]))
    assert kafka.on(DLQ) == []


def test_a_row_the_database_refuses_still_goes_to_the_topic() -> None:
    kafka = MemoryKafka()
    mirror = RefusingMirror(RowsRefused("PostgreSQL refused the rows (test)", 0))
    letters = DeadLetters(DLQ, mirror, publisher(kafka))
    messages = asyncio.run(letters.set_aside([(incoming(0, b"nope"), "bad")]))
    assert mirror.calls == 1
    assert [m.value for m in messages] == [b"nope"]
