"""A broker that does not answer gives a readable BrokerError quickly, never a hang.

The timeouts are made small by configuration (FRAUD_KAFKA_*_SECONDS), as an operator would.
"""

from __future__ import annotations

import pytest

from fixtures.kafka import settings_for
from fraudstream.config import Settings
from fraudstream.errors import BrokerError
from fraudstream.kafka.admin import ensure_topics, list_topics, topic_specs, wait_for_topics
from fraudstream.kafka.producer import Producer
from fraudstream.local.process import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def nowhere() -> Settings:
    """Settings that point at a loopback port where nothing listens."""
    return settings_for(
        f"127.0.0.1:{free_port()}",
        kafka_timeout_seconds=1.5,
        kafka_delivery_timeout_seconds=1.5,
    )


def _is_readable(error: BrokerError, settings: Settings) -> None:
    text = str(error)
    assert settings.kafka.bootstrap_servers in text
    assert "fraudstream up" in text
    assert "FRAUD_KAFKA_BOOTSTRAP_SERVERS" in text
    assert "\n" not in text


def test_creating_topics_fails_readably(nowhere: Settings) -> None:
    with pytest.raises(BrokerError) as caught:
        ensure_topics(nowhere.kafka, topic_specs(nowhere.topics))

    assert str(caught.value).startswith("cannot read the cluster's metadata")
    _is_readable(caught.value, nowhere)


def test_listing_topics_fails_readably(nowhere: Settings) -> None:
    with pytest.raises(BrokerError) as caught:
        list_topics(nowhere.kafka)

    _is_readable(caught.value, nowhere)


def test_waiting_for_topics_gives_up(nowhere: Settings) -> None:
    with pytest.raises(BrokerError) as caught:
        wait_for_topics(nowhere.kafka.bootstrap_servers, ["transactions"], timeout=1.0)

    assert "topics not ready after 1 s" in str(caught.value)
    _is_readable(caught.value, nowhere)


def test_undeliverable_messages_fail_the_flush(nowhere: Settings) -> None:
    producer = Producer(nowhere.kafka)
    for i in range(3):
        producer.produce("transactions", b"%d" % i, key=b"1")

    with pytest.raises(BrokerError) as caught:
        producer.flush()

    assert str(caught.value).startswith("3 of 3 messages were not delivered")
    assert "Message timed out" in str(caught.value)
    _is_readable(caught.value, nowhere)
    assert (producer.delivered, producer.failed) == (0, 3)


def test_the_context_manager_raises_on_exit(nowhere: Settings) -> None:
    with pytest.raises(BrokerError, match="1 of 1 messages"), Producer(nowhere.kafka) as producer:
        producer.produce("transactions", b"lost")
