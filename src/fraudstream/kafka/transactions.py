"""Kafka transactions: messages and consumer offsets that become visible together, or not at all.

A consume-transform-produce step (the stream: transactions in, verdicts out) is exactly-once for
``read_committed`` consumers when its output and the input offsets it consumed commit in one
Kafka transaction: a crash before the commit aborts both (the input is read again, the output
was never visible), a crash after it leaves nothing to redo. :meth:`TransactionalProducer.commit`
is that step: begin, produce, add the offsets, commit; abort on any failure.

Offsets go to the consumer group's coordinator with the group id only (a consumer that never
joins supplies librdkafka's group metadata), so this works beside any consumer of the group,
Faust's aiokafka one included. The price of not passing the member's generation: a worker that
lost its partitions but does not know it yet (a long pause, past the session timeout) is not
fenced by the broker. The stream finishes its in-flight batch before it gives partitions up, so
a live worker never races its successor; a frozen one can (see ``docs/stream.md``).

A watchdog bounds every transaction and every start: librdkafka's coordinator requests can block
past their timeout (confluentinc/librdkafka#5456): ``send_offsets_to_transaction`` never
returned after a broker restart, and ``init_transactions`` hung once on a broker whose
coordinator was still loading. A call that has not finished within twice the transaction
timeout is abandoned with its producer, and the next one starts a new
producer with the same transactional id, which fences the old one (the broker aborts its
transaction). The caller sees a BrokerError and tries again, as for any failed commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Final

from confluent_kafka import Consumer as _ConfluentConsumer
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka import Producer as _ConfluentProducer

from fraudstream.config import KafkaSettings
from fraudstream.errors import BrokerError
from fraudstream.kafka.config import consumer_config, producer_config
from fraudstream.kafka.errors import ClientErrors, broker_error, librdkafka_log
from fraudstream.kafka.types import ConfigValue

log = logging.getLogger(__name__)

TRANSACTION_DEFAULTS: Final = {
    # The coordinator answers CONCURRENT_TRANSACTIONS while it still writes the previous
    # transaction's markers; librdkafka's 100 ms backoff then costs ~100 ms per transaction
    # (measured: send_offsets 90-130 ms, 10-16 ms with these).
    "retry.backoff.ms": 10,
    "retry.backoff.max.ms": 100,
    # The batch is complete when it is handed over: waiting to fill librdkafka's batches only
    # delays the commit.
    "linger.ms": 0,
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to produce inside a transaction."""

    topic: str
    value: bytes | None
    key: bytes | str | None = None
    headers: Sequence[tuple[str, bytes]] | None = None


Offsets = Mapping[tuple[str, int], int]
"""(topic, partition) -> the next offset to consume (the last consumed plus one)."""


class TransactionalProducer:
    """One transactional producer; its transactions run one at a time, whichever thread asks.

    ``overrides`` win over every librdkafka setting it derives (``bench/kafka_transaction.py``
    compares lingers with them)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        transactional_id: str,
        group_id: str,
        timeout_seconds: float,
        overrides: Mapping[str, ConfigValue] | None = None,
    ) -> None:
        self.bootstrap = kafka.bootstrap_servers
        self.transactional_id = transactional_id
        # no call of a transaction may outlive the transaction itself
        self._timeout = min(kafka.timeout_seconds, timeout_seconds)
        timeout_ms = max(1000, int(timeout_seconds * 1000))
        config = producer_config(kafka)
        self._config = {
            **config,
            **TRANSACTION_DEFAULTS,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": timeout_ms,
            # librdkafka: neither a request nor a message may outlive its transaction
            "socket.timeout.ms": min(int(config["socket.timeout.ms"]), timeout_ms),
            "message.timeout.ms": min(int(config["message.timeout.ms"]), timeout_ms),
            **(overrides or {}),
        }
        self._errors = ClientErrors(f"transactional producer {transactional_id}", self.bootstrap)
        try:
            self._group = _ConfluentConsumer(
                {**consumer_config(kafka, group_id), "logger": librdkafka_log}
            )
        except KafkaException as exc:
            raise broker_error("create a Kafka consumer", exc, self.bootstrap) from exc
        self._producer: _ConfluentProducer | None = None
        self._serial = threading.Lock()
        self._runner = ThreadPoolExecutor(1, thread_name_prefix="kafka-transaction")
        self._deadline = 2 * timeout_seconds
        """The watchdog: a transaction still running after this is abandoned."""
        self._generation = 0
        """Moves on at each abandonment: a stuck call that returns late changes nothing."""
        self.committed_transactions = 0
        self.abandoned = 0

    def start(self) -> None:
        """Register the transactional id with its coordinator; this fences (aborts) whatever an
        earlier producer with the same id left open. Raises BrokerError while Kafka is away."""
        with self._serial:
            self._bounded(self._start, "starting Kafka transactions")

    def _start(self) -> None:
        generation = self._generation
        producer = self._new_producer()
        try:
            producer.init_transactions(self._timeout)
        except KafkaException as exc:
            raise broker_error("start Kafka transactions", exc, self.bootstrap) from exc
        if generation == self._generation:  # not abandoned meanwhile (a newer one may run)
            self._producer = producer

    def _new_producer(self) -> _ConfluentProducer:
        try:
            return _ConfluentProducer(
                {**self._config, "error_cb": self._errors, "logger": librdkafka_log}
            )
        except KafkaException as exc:
            raise broker_error("create a Kafka producer", exc, self.bootstrap) from exc

    def commit(self, messages: Sequence[Outgoing], offsets: Offsets) -> None:
        """Produce ``messages`` and commit ``offsets`` for the group, atomically.

        Raises BrokerError when the transaction did not commit: then nothing of it is visible to
        a ``read_committed`` consumer and no offset moved, so the caller may simply try again.
        """
        if not messages and not offsets:
            return
        with self._serial:
            self._bounded(lambda: self._commit(messages, offsets), "a Kafka transaction")

    def _bounded(self, work: Callable[[], None], what: str) -> None:
        """``work`` on the transactions' thread, abandoned after the watchdog's deadline."""
        running = self._runner.submit(work)
        try:
            running.result(timeout=self._deadline)
        except FutureTimeout:
            self._abandon()
            raise BrokerError(
                f"{what} of {self.transactional_id} did not finish within {self._deadline:.0f} s "
                f"(Kafka at {self.bootstrap}); abandoned, the next one starts a new producer"
            ) from None

    def _abandon(self) -> None:
        """Leave the stuck call to its thread and that thread to its producer; the next
        transaction starts afresh on a new thread and a new producer."""
        self.abandoned += 1
        self._generation += 1
        log.error(
            "Kafka transaction stuck for %.0f s (librdkafka#5456); starting a new producer",
            self._deadline,
        )
        self._runner.shutdown(wait=False)
        self._runner = ThreadPoolExecutor(1, thread_name_prefix="kafka-transaction")
        self._producer = None

    def _commit(self, messages: Sequence[Outgoing], offsets: Offsets) -> None:
        if self._producer is None:
            self._start()
        producer = self._producer
        assert producer is not None
        try:
            producer.begin_transaction()
            for m in messages:
                self._produce(producer, m)
            if offsets:
                positions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
                producer.send_offsets_to_transaction(
                    positions, self._group.consumer_group_metadata(), self._timeout
                )
            self._finish(producer)
        except KafkaException as exc:
            self._recover(producer, exc)
            raise broker_error("commit a Kafka transaction", _cause(exc), self.bootstrap) from exc
        self.committed_transactions += 1

    def _finish(self, producer: _ConfluentProducer) -> None:
        """Commit; a commit that timed out may still commit, so it is resumed (librdkafka: "retry
        call to resume"), never aborted, until it finishes, fails for good, or the watchdog
        gives up on it."""
        generation = self._generation
        while True:
            try:
                producer.commit_transaction(self._timeout)
                return
            except KafkaException as exc:
                error = _cause(exc)
                if not error.retriable() or error.txn_requires_abort():
                    raise
                if generation != self._generation:  # abandoned: a newer producer runs
                    raise
                log.warning("Kafka transaction not committed yet (%s); resuming", error)

    def _produce(self, producer: _ConfluentProducer, message: Outgoing) -> None:
        listed: list[tuple[str, str | bytes | None]] | None = (
            list(message.headers) if message.headers else None
        )
        while True:
            try:
                producer.produce(message.topic, message.value, message.key, headers=listed)
                return
            except BufferError:  # the local queue is full: serve it, then try again
                producer.poll(0.05)

    def _recover(self, producer: _ConfluentProducer, exc: BaseException) -> None:
        """Leave the producer ready for the next transaction: abort this one, or start afresh
        when the producer can no longer be used (fenced, or a fatal error). A producer already
        abandoned by the watchdog is left alone."""
        if producer is not self._producer:
            return
        error = _cause(exc)
        fatal = isinstance(error, KafkaError) and error.fatal()
        if not fatal:
            try:
                producer.abort_transaction(self._timeout)
                return
            except KafkaException as abort_failure:
                log.warning("could not abort the transaction (%s); starting afresh", abort_failure)
        self._producer = None  # the next commit starts a new producer (and fences the old id)

    def committed(self, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The group's committed offsets, waiting until no transaction is pending on them (what
        the next owner of those partitions will read)."""
        try:
            found = self._group.committed(
                [TopicPartition(t, p) for t, p in partitions], timeout=self._timeout
            )
        except KafkaException as exc:
            raise broker_error("read committed offsets", exc, self.bootstrap) from exc
        return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}

    def close(self) -> None:
        """Abort a transaction left open (a stop in the middle of one) and let go."""
        self._runner.shutdown(wait=False)
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.abort_transaction(min(self._timeout, 5.0))
            except KafkaException as exc:
                if _cause(exc).code() != KafkaError._STATE:  # _STATE: no transaction was open
                    log.warning("could not abort the open transaction: %s", exc)
            producer.flush(0)
        self._group.close()


def _cause(exc: BaseException) -> KafkaError:
    error = exc.args[0] if exc.args else None
    if isinstance(error, KafkaError):
        return error
    return KafkaError(KafkaError._FAIL, str(exc))
