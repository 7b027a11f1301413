"""Verdicts to the ``verdicts`` topic and bad messages to the dead-letter topic.

Both go through the project's one Kafka producer (idempotent, acks=all) and are flushed before
the scorer acknowledges anything: a message is only acknowledged once what it produced is
durable in Kafka. The producer blocks, so the scorer calls this module in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from pydantic import BaseModel

from fraudstream.config import Settings
from fraudstream.kafka.producer import Producer
from fraudstream.schema import Verdict
from fraudstream.stream_processor.incoming import Incoming

REASON_HEADER = "fraudstream.reason"
SOURCE_HEADER = "fraudstream.source"
FAILED_AT_HEADER = "fraudstream.failed_at"


def verdict_json(verdict: Verdict) -> bytes:
    """The topic's JSON of a verdict, from the pydantic model or from its fast struct (the
    same fields, names and formats; ``docs/verdict.schema.json`` describes both)."""
    if isinstance(verdict, BaseModel):
        return verdict.model_dump_json().encode()
    return msgspec.json.encode(verdict)


class Publisher:
    """Produces and flushes; raises BrokerError when Kafka did not take everything."""

    def __init__(self, settings: Settings, producer: Producer) -> None:
        self.settings = settings
        self.producer = producer

    def verdicts(self, verdicts: Sequence[Verdict], flush_timeout: float = 15.0) -> None:
        topic = self.settings.topic_verdicts
        for verdict in verdicts:
            self.producer.produce(topic, verdict_json(verdict), str(verdict.cc_num))
        self.producer.flush(flush_timeout)

    def dead_letters(
        self, letters: Sequence[tuple[Incoming, str]], flush_timeout: float = 15.0
    ) -> None:
        now = datetime.now(UTC).isoformat().encode()
        for message, reason in letters:
            headers = [
                (REASON_HEADER, reason.encode()),
                (SOURCE_HEADER, f"{message.topic}:{message.partition}:{message.offset}".encode()),
                (FAILED_AT_HEADER, now),
            ]
            self.producer.produce(
                self.settings.topic_dlq, message.raw, message.key, headers=headers
            )
        self.producer.flush(flush_timeout)
