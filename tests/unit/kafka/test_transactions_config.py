"""librdkafka refuses a transactional producer whose timeouts outlive its transactions; the
configuration keeps them inside, whatever the settings say."""

from __future__ import annotations

import pytest

from fraudstream.config import Settings
from fraudstream.kafka.transactions import TransactionalProducer

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("seconds", [1.0, 10.0, 60.0, 900.0])
def test_the_producer_is_accepted_for_any_transaction_timeout(seconds: float) -> None:
    settings = Settings(_env_file=None, kafka_bootstrap_servers="127.0.0.1:1")  # type: ignore[call-arg]
    producer = TransactionalProducer(
        settings, transactional_id="t", group_id="g", timeout_seconds=seconds
    )
    try:
        producer._new_producer()  # librdkafka validates the configuration here
        assert producer._config["transaction.timeout.ms"] == int(seconds * 1000)
    finally:
        producer.close()
