"""librdkafka's error codes become messages that say what to do."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import KafkaError, KafkaException

from fraudstream.errors import BrokerError
from fraudstream.kafka.errors import ClientErrors, broker_error, error_code

pytestmark = pytest.mark.unit

BOOTSTRAP = "127.0.0.1:9"


def test_an_unreachable_broker_names_the_address_and_the_fix() -> None:
    cause = KafkaException(KafkaError(KafkaError._TRANSPORT, "Broker transport failure"))

    error = broker_error("create topics", cause, BOOTSTRAP)

    assert isinstance(error, BrokerError)
    text = str(error)
    assert text.startswith("cannot create topics: Broker transport failure (_TRANSPORT)")
    assert BOOTSTRAP in text
    assert "fraudstream up" in text
    assert "FRAUD_KAFKA_BOOTSTRAP_SERVERS" in text


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (KafkaError.UNKNOWN_TOPIC_OR_PART, "fraudstream topics create"),
        (KafkaError._MSG_TIMED_OUT, "no Kafka broker answered"),
        (KafkaError.INVALID_REPLICATION_FACTOR, "FRAUD_KAFKA_REPLICATION_FACTOR"),
    ],
)
def test_known_codes_carry_advice(code: int, advice: str) -> None:
    assert advice in str(broker_error("produce", KafkaError(code), BOOTSTRAP))


def test_an_unknown_code_keeps_librdkafka_words_only() -> None:
    text = str(broker_error("produce", KafkaError(KafkaError.POLICY_VIOLATION, "no"), BOOTSTRAP))

    assert text == "cannot produce: no (POLICY_VIOLATION)"


def test_error_code_reads_the_exception() -> None:
    assert error_code(KafkaException(KafkaError(KafkaError._NO_OFFSET))) == KafkaError._NO_OFFSET
    assert error_code(KafkaException("not a KafkaError")) is None


def test_client_errors_warn_once_per_change_and_keep_the_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = ClientErrors("producer", BOOTSTRAP)
    down = KafkaError(KafkaError._TRANSPORT, "Connection refused")

    with caplog.at_level(logging.WARNING, logger="fraudstream.kafka.errors"):
        for _ in range(5):
            errors(down)
        errors(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
        errors(down)
        fatal = KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, "gap", fatal=True)
        errors(fatal)

    assert [r.levelno for r in caplog.records] == [logging.WARNING] * 3 + [logging.ERROR]
    assert errors.fatal is fatal
