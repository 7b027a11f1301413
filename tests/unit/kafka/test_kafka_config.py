"""The librdkafka settings every client gets, and the five topics, read from Settings."""

from __future__ import annotations

import pytest

from fraudstream.config import Settings
from fraudstream.kafka.admin import topic_specs
from fraudstream.kafka.config import consumer_config, producer_config

pytestmark = pytest.mark.unit


def test_producer_is_safe_and_batches_by_default() -> None:
    config = producer_config(Settings(kafka_bootstrap_servers="k1:9092,k2:9092").kafka)

    assert config["bootstrap.servers"] == "k1:9092,k2:9092"
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    assert config["compression.type"] == "lz4"
    assert config["partitioner"] == "murmur2_random"
    assert config["linger.ms"] == 5
    assert config["batch.size"] == 1_000_000
    assert config["allow.auto.create.topics"] is False


def test_producer_timeouts_come_from_settings_and_overrides_win() -> None:
    settings = Settings(kafka_delivery_timeout_seconds=2.5, kafka_timeout_seconds=4)

    config = producer_config(settings.kafka, {"linger.ms": 0, "compression.type": "zstd"})

    assert config["message.timeout.ms"] == 2500
    assert config["socket.timeout.ms"] == 4000
    assert config["linger.ms"] == 0
    assert config["compression.type"] == "zstd"


def test_consumer_names_its_group_and_does_not_commit_on_its_own() -> None:
    config = consumer_config(Settings().kafka, "scorers", auto_offset_reset="latest")

    assert config["group.id"] == "scorers"
    assert config["auto.offset.reset"] == "latest"
    assert config["enable.auto.commit"] is False
    assert config["fetch.queue.backoff.ms"] <= 100  # librdkafka's 1 s stalls reads
    assert consumer_config(Settings().kafka, "g", auto_commit=True)["enable.auto.commit"] is True


def test_topic_specs_follow_the_settings() -> None:
    settings = Settings(
        topic_transactions="tx",
        transactions_partitions=12,
        verdicts_partitions=3,
        other_partitions=2,
        kafka_replication_factor=3,
    )

    specs = {spec.name: spec for spec in topic_specs(settings.topics)}

    assert {name: spec.partitions for name, spec in specs.items()} == {
        "tx": 12,
        "verdicts": 3,
        "transactions.dlq": 2,
        "labels": 2,
        "model-events": 2,
    }
    assert {spec.replication_factor for spec in specs.values()} == {3}
    assert specs["tx"].setting == "transactions_partitions"
