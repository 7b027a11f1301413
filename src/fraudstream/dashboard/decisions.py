"""An analyst's decision, published as a label on the ``labels`` topic.

The dashboard keeps its read-only database login: it never writes PostgreSQL. A decision travels
as a :class:`~fraudstream.schema.LabelEvent` (source ``analyst``, author the signed-in name) to
the labels topic, keyed by the card like every label, and the stream's labels sink stores it as
it stores chargebacks: the same precedence, the same audit trail, the same dead letters. The page
says "saved" only once the broker has acknowledged the message.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from fraudstream.config import KafkaSettings
from fraudstream.errors import BrokerError
from fraudstream.kafka.producer import Producer
from fraudstream.schema import NOTE_MAX, LabelEvent

Verdict = Literal["fraud", "not_fraud"]


def label_event(
    trans_num: str, verdict: Verdict, author: str, note: str = "", now: datetime | None = None
) -> LabelEvent:
    """The label an analyst's decision becomes; a blank note is no note, a long one is cut to
    the contract's length (a case's note carries the reviewed transaction's id before it)."""
    return LabelEvent(
        trans_num=trans_num,
        is_fraud=1 if verdict == "fraud" else 0,
        labelled_at=now or datetime.now(UTC),
        source="analyst",
        author=author,
        note=note.strip()[:NOTE_MAX] or None,
    )


class DecisionDesk:
    """Publishes decisions, one at a time, each confirmed by the broker before it returns.

    One per dashboard process (Streamlit caches it); the producer is thread-safe, and a lock
    keeps one session's confirmation from waiting on another's message. A producer that lost a
    message stays failed (its errors are sticky), so after a failure the next decision gets a
    fresh one.
    """

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.kafka = kafka
        self.topic = topic
        self._lock = threading.Lock()
        self._producer: Producer | None = None

    def publish(self, events: Sequence[LabelEvent], card: int) -> None:
        """Send ``events`` (one decision: a transaction, and maybe others of the same card's
        case) keyed by ``card``; raises :class:`BrokerError` when one was not stored."""
        with self._lock:
            producer = self._producer or Producer(self.kafka)
            self._producer = producer
            try:
                for event in events:
                    producer.produce(self.topic, event.model_dump_json().encode(), str(card))
                producer.flush(self.kafka.timeout_seconds)
            except BrokerError:
                self._producer = None
                raise

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.flush(self.kafka.timeout_seconds)
                self._producer = None
