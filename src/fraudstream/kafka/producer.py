"""The producer every fraudstream component uses to write to Kafka.

Wraps confluent-kafka's producer once, Quix-style: safe defaults (see :mod:`.config`), a
delivery callback that counts what was stored and keeps the first failure, and a :meth:`flush`
that raises :class:`~fraudstream.errors.BrokerError` when anything was lost, so no caller can
forget to check. As a context manager it flushes on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import TracebackType

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as _ConfluentProducer

from fraudstream.config import KafkaSettings
from fraudstream.errors import BrokerError
from fraudstream.kafka.admin import why_undelivered
from fraudstream.kafka.config import producer_config
from fraudstream.kafka.errors import ClientErrors, broker_error, describe, hint, librdkafka_log
from fraudstream.kafka.types import ConfigValue, Message

log = logging.getLogger(__name__)

_FULL_QUEUE_WAIT = 0.05
_FLUSH_MARGIN = 5.0


class Producer:
    """A Kafka producer with delivery accounting; one per process is plenty (it is thread-safe).

    ``delivered`` and ``failed`` count delivery reports served so far; they grow when
    :meth:`poll` or :meth:`flush` runs (and :meth:`produce` polls without waiting).
    """

    def __init__(
        self, kafka: KafkaSettings, *, overrides: Mapping[str, ConfigValue] | None = None
    ) -> None:
        self.bootstrap = kafka.bootstrap_servers
        self._timeout = kafka.timeout_seconds
        self.delivered = 0
        self.failed = 0
        self._first_failure: tuple[str, KafkaError] | None = None
        config = producer_config(kafka, overrides)
        self._flush_timeout = int(config["message.timeout.ms"]) / 1000 + _FLUSH_MARGIN
        self._errors = ClientErrors("producer", self.bootstrap)
        try:
            self._client = _ConfluentProducer(
                {
                    **config,
                    "error_cb": self._errors,
                    "logger": librdkafka_log,
                    "on_delivery": self._on_delivery,
                }
            )
        except KafkaException as exc:
            raise broker_error("create a Kafka producer", exc, self.bootstrap) from exc

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.delivered += 1
            return
        self.failed += 1
        if self._first_failure is None:
            self._first_failure = (message.topic() or "?", error)

    @property
    def first_error(self) -> str | None:
        """The first delivery failure as ``topic: reason (CODE)``; None while all went well."""
        if self._first_failure is None:
            return None
        topic, error = self._first_failure
        return f"{topic}: {error.str()} ({error.name()})"

    def _advice(self) -> str:
        """What to do about the first failure; a timeout is diagnosed with one metadata call."""
        if self._first_failure is None:
            return ""
        topic, error = self._first_failure
        if error.code() == KafkaError._MSG_TIMED_OUT:
            return why_undelivered(self.bootstrap, topic, self._timeout)
        return hint(error.code(), self.bootstrap)

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | str | None = None,
        *,
        partition: int | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one message; when the local queue is full, wait for room instead of failing.

        Without ``partition`` the key chooses it with murmur2, as Java and aiokafka (Faust)
        producers do, so a card lands on the same partition whoever writes it.
        """
        client = self._client
        try:
            if partition is None and headers is None:  # the hot path: one C call
                client.produce(topic, value, key)
            else:
                self._produce_slowly(topic, value, key, partition, headers)
        except BufferError:
            self._produce_slowly(topic, value, key, partition, headers)
        except KafkaException as exc:
            raise broker_error(f"produce to {topic}", exc, self.bootstrap) from exc
        client.poll(0)

    def _produce_slowly(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | str | None,
        partition: int | None,
        headers: Sequence[tuple[str, bytes]] | None,
    ) -> None:
        """Produce with a partition or headers, waiting for room while the local queue is full."""
        where = -1 if partition is None else partition  # -1: let the partitioner choose
        listed: list[tuple[str, str | bytes | None]] | None = list(headers) if headers else None
        while True:
            try:
                self._client.produce(topic, value, key, where, headers=listed)
            except BufferError:
                self._client.poll(_FULL_QUEUE_WAIT)
                continue
            return

    def poll(self, timeout: float = 0) -> None:
        """Serve delivery reports (counts them); long-running producers call it now and then."""
        self._client.poll(timeout)

    def __len__(self) -> int:
        """Messages queued but not yet acknowledged by the broker."""
        return len(self._client)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every queued message is stored; raise BrokerError if any was not.

        The default waits a little longer than the delivery timeout, so a message that cannot
        be stored fails with its own reason rather than with "still queued". Failures are
        sticky: once a message is lost, every later flush of this producer raises too.
        """
        wait = self._flush_timeout if timeout is None else timeout
        remaining = self._client.flush(wait)
        if self._errors.fatal is not None:
            raise BrokerError(
                f"the Kafka producer stopped: {describe(self._errors.fatal, self.bootstrap)}"
            )
        if self.failed:
            advice = self._advice()
            raise BrokerError(
                f"{self.failed} of {self.failed + self.delivered} messages were not delivered; "
                f"first failure: {self.first_error}" + (f"; {advice}" if advice else "")
            )
        if remaining:
            raise BrokerError(
                f"{remaining} messages were still not delivered after {wait:.0f} s; "
                + hint(KafkaError._MSG_TIMED_OUT, self.bootstrap)
            )

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.flush()
            return
        try:
            self.flush()
        except BrokerError as flush_error:
            log.warning("while handling %r, the producer could not flush: %s", exc, flush_error)
