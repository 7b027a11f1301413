"""The consumer every fraudstream component uses to read from Kafka (outside Faust).

Wraps confluent-kafka's consumer once: an explicit group id and offset reset (nothing is left to
a library default), no auto-commit unless asked, errors turned into
:class:`~fraudstream.errors.BrokerError`, and messages handed through uncopied.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Final

from confluent_kafka import Consumer as _ConfluentConsumer
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from fraudstream.config import KafkaSettings
from fraudstream.errors import BrokerError
from fraudstream.kafka.config import OffsetReset, consumer_config
from fraudstream.kafka.errors import (
    ClientErrors,
    broker_error,
    describe,
    error_code,
    librdkafka_log,
)
from fraudstream.kafka.types import ConfigValue, Message


class Consumer:
    """A member of consumer group ``group_id``; close it (or use ``with``) to leave the group."""

    def __init__(
        self,
        kafka: KafkaSettings,
        group_id: str,
        *,
        auto_offset_reset: OffsetReset = "earliest",
        auto_commit: bool = False,
        overrides: Mapping[str, ConfigValue] | None = None,
    ) -> None:
        self.bootstrap = kafka.bootstrap_servers
        self.group_id = group_id
        config = consumer_config(
            kafka,
            group_id,
            auto_offset_reset=auto_offset_reset,
            auto_commit=auto_commit,
            overrides=overrides,
        )
        self._errors = ClientErrors(f"consumer {group_id}", self.bootstrap)
        self._closed = False
        try:
            self._client = _ConfluentConsumer(
                {**config, "error_cb": self._errors, "logger": librdkafka_log}
            )
        except KafkaException as exc:
            raise broker_error("create a Kafka consumer", exc, self.bootstrap) from exc

    def subscribe(self, topics: Sequence[str]) -> None:
        """Join the group for these topics; partitions arrive with the first :meth:`consume`."""
        try:
            self._client.subscribe(list(topics))
        except KafkaException as exc:
            raise broker_error(f"subscribe to {', '.join(topics)}", exc, self.bootstrap) from exc

    def consume(self, max_messages: int = 1000, timeout: float = 1.0) -> list[Message]:
        """Up to ``max_messages`` messages, waiting up to ``timeout`` seconds: librdkafka returns
        early only with ``max_messages`` in hand, so a reader that times what it sees waits short.

        An error carried by a message (an unknown topic, a fatal consumer error) raises
        BrokerError; the end-of-partition notice, if enabled, is dropped.
        """
        try:
            messages: list[Message] = self._client.consume(max_messages, timeout)
        except KafkaException as exc:
            raise broker_error("consume", exc, self.bootstrap) from exc
        if not any(m.error() for m in messages):
            return messages
        good: list[Message] = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                where = f"{message.topic()}[{message.partition()}]"
                raise BrokerError(f"cannot consume {where}: {describe(error, self.bootstrap)}")
        return good

    def commit(self, message: Message | None = None) -> None:
        """Commit synchronously: up to and including ``message``, or every consumed position.

        Nothing consumed yet is not an error: there is nothing to commit.
        """
        try:
            if message is None:
                self._client.commit(asynchronous=False)
            else:
                self._client.commit(message=message, asynchronous=False)
        except KafkaException as exc:
            if error_code(exc) == KafkaError._NO_OFFSET:
                return
            action = f"commit offsets of group {self.group_id}"
            raise broker_error(action, exc, self.bootstrap) from exc

    def close(self) -> None:
        """Leave the group (its partitions move to the other members at once); idempotent."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_POLL_SECONDS: Final = 0.2


def read_partitions(
    kafka: KafkaSettings, topic: str, ranges: Mapping[int, tuple[int, int]]
) -> Iterator[Message]:
    """Every message of ``topic`` in ``ranges`` (partition -> [start, end) offsets), without a
    group and without committing anything: what an audit reads.

    ``read_committed``: messages of aborted or still open transactions are skipped, as every
    downstream consumer skips them, so a partition may yield fewer messages than its range.
    """
    todo = {p: (start, end) for p, (start, end) in ranges.items() if end > start}
    if not todo:
        return
    config = consumer_config(
        kafka,
        f"fraudstream-audit-{topic}",
        overrides={"enable.partition.eof": True, "isolation.level": "read_committed"},
    )
    client = _ConfluentConsumer({**config, "logger": librdkafka_log})
    try:
        client.assign([TopicPartition(topic, p, start) for p, (start, _) in todo.items()])
        quiet_until = time.monotonic() + kafka.timeout_seconds
        while todo:
            try:
                # a short wait: consume() waits for the whole count, and the end of a partition
                # (its EOF event) is what ends the read, not a full batch
                batch = client.consume(10_000, timeout=_POLL_SECONDS)
            except KafkaException as exc:
                raise broker_error(f"read {topic}", exc, kafka.bootstrap_servers) from exc
            if batch:
                quiet_until = time.monotonic() + kafka.timeout_seconds
            elif time.monotonic() > quiet_until:
                raise BrokerError(
                    f"reading {topic}: no message within {kafka.timeout_seconds:.0f} s "
                    f"while partitions {sorted(todo)} were not read to their end"
                )
            for message in batch:
                partition = message.partition()
                error = message.error()
                if partition not in todo:
                    continue
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        del todo[partition]
                        continue
                    raise broker_error(f"read {topic}", error, kafka.bootstrap_servers)
                end = todo[partition][1]
                offset = message.offset() or 0
                if offset >= end:
                    del todo[partition]
                    continue
                yield message
                if offset >= end - 1:
                    del todo[partition]
    finally:
        client.close()
