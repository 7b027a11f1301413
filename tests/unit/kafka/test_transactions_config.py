"""librdkafka refuses a transactional producer whose timeouts outlive its transactions; the
configuration keeps them inside, whatever the settings say."""

from __future__ import annotations

import threading

import pytest

from fraudstream.config import Settings
from fraudstream.errors import BrokerError
from fraudstream.kafka.transactions import TransactionalProducer

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("seconds", [1.0, 10.0, 60.0, 900.0])
def test_the_producer_is_accepted_for_any_transaction_timeout(seconds: float) -> None:
    settings = Settings(_env_file=None, kafka_bootstrap_servers="127.0.0.1:1")
    producer = TransactionalProducer(
        settings.kafka, transactional_id="t", group_id="g", timeout_seconds=seconds
    )
    try:
        producer._new_producer()  # librdkafka validates the configuration here
        assert producer._config["transaction.timeout.ms"] == int(seconds * 1000)
    finally:
        producer.close()


def test_a_stuck_call_is_abandoned_and_the_next_one_runs_on_a_fresh_thread() -> None:
    """librdkafka#5456: a coordinator request may never return; the watchdog gives up on it."""
    settings = Settings(_env_file=None, kafka_bootstrap_servers="127.0.0.1:1")
    producer = TransactionalProducer(
        settings.kafka, transactional_id="t", group_id="g", timeout_seconds=0.1
    )
    release = threading.Event()
    try:
        with pytest.raises(BrokerError, match="did not finish within"):
            producer._bounded(release.wait, "a Kafka transaction")
        assert producer.abandoned == 1
        ran: list[str] = []
        producer._bounded(lambda: ran.append(threading.current_thread().name), "the next")
        assert len(ran) == 1  # ran at once, not queued behind the stuck call
        assert ran[0].startswith("kafka-transaction")
    finally:
        release.set()
        producer.close()


class _StuckProducer:
    """A producer whose ``init_transactions`` returns only when released."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def init_transactions(self, _timeout: float) -> None:
        self.release.wait()


def test_a_start_that_returns_after_it_was_abandoned_installs_nothing() -> None:
    settings = Settings(_env_file=None, kafka_bootstrap_servers="127.0.0.1:1")
    producer = TransactionalProducer(
        settings.kafka, transactional_id="t", group_id="g", timeout_seconds=0.1
    )
    release = threading.Event()
    stuck = _StuckProducer(release)
    producer._new_producer = lambda: stuck  # type: ignore[assignment,method-assign,return-value]
    stuck_thread = producer._runner
    try:
        with pytest.raises(BrokerError, match="did not finish within"):
            producer.start()
        release.set()  # the stuck call returns now, late
        stuck_thread.shutdown(wait=True)  # and its thread is done
        assert producer._producer is None  # the next transaction starts a producer of its own
    finally:
        release.set()
        producer._producer = None
        producer.close()
