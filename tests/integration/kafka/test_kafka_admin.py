"""Topics on the real broker: created with the configured partitions, idempotently; offsets."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from fixtures.kafka import TopicFactory, drain
from fraudstream.config import Settings
from fraudstream.errors import ConfigError
from fraudstream.kafka import cli as kafka_cli
from fraudstream.kafka.admin import (
    committed_offsets,
    ensure_topics,
    list_topics,
    topic_specs,
    wait_for_topics,
)
from fraudstream.kafka.consumer import Consumer
from fraudstream.kafka.producer import Producer

pytestmark = pytest.mark.integration


def _partitions(settings: Settings) -> dict[str, int]:
    return {info.name: info.partitions for info in list_topics(settings.kafka)}


def test_ensure_topics_creates_the_five_topics_with_their_partitions(
    kafka_settings: Settings,
) -> None:
    settings = kafka_settings.replace(
        transactions_partitions=4, verdicts_partitions=3, other_partitions=2
    )

    created = ensure_topics(settings.kafka, topic_specs(settings.topics))

    expected = {
        settings.topics.transactions: 4,
        settings.topics.verdicts: 3,
        settings.topics.dlq: 2,
        settings.topics.labels: 2,
        settings.topics.model_events: 2,
    }
    assert sorted(created) == sorted(expected)
    assert {n: p for n, p in _partitions(settings).items() if n in expected} == expected


def test_ensure_topics_twice_changes_nothing(kafka_settings: Settings) -> None:
    ensure_topics(kafka_settings.kafka, topic_specs(kafka_settings.topics))
    with Producer(kafka_settings.kafka) as producer:
        producer.produce(kafka_settings.topics.transactions, b"kept", key=b"1")

    assert ensure_topics(kafka_settings.kafka, topic_specs(kafka_settings.topics)) == []

    mine = {s.name for s in topic_specs(kafka_settings.topics)}
    infos = {i.name: i for i in list_topics(kafka_settings.kafka) if i.name in mine}
    assert infos[kafka_settings.topics.transactions].partitions == 6
    assert infos[kafka_settings.topics.transactions].messages == 1


def test_a_partition_count_that_disagrees_names_the_setting(kafka_settings: Settings) -> None:
    ensure_topics(kafka_settings.kafka, topic_specs(kafka_settings.topics))
    changed = kafka_settings.replace(transactions_partitions=12)

    with pytest.raises(ConfigError) as caught:
        ensure_topics(changed.kafka, topic_specs(changed.topics))

    text = str(caught.value)
    assert "exists with 6 partitions but 12 are configured" in text
    assert "FRAUD_TRANSACTIONS_PARTITIONS=6" in text


def test_wait_for_topics_returns_once_leaders_exist(
    kafka_settings: Settings, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=3)

    wait_for_topics(kafka_settings.kafka.bootstrap_servers, [topic], timeout=10)

    with Producer(kafka_settings.kafka) as producer:
        for partition in range(3):
            producer.produce(topic, b"x", partition=partition)
    assert producer.delivered == 3


def test_committed_offsets_show_what_a_group_acknowledged(
    kafka_settings: Settings, topic_factory: TopicFactory, group_id: str
) -> None:
    topic = topic_factory(partitions=2)
    with Producer(kafka_settings.kafka) as producer:
        for i in range(10):
            producer.produce(topic, b"%d" % i, partition=i % 2)

    assert committed_offsets(kafka_settings.kafka, group_id, [topic]) == {}
    with Consumer(kafka_settings.kafka, group_id) as consumer:
        consumer.subscribe([topic])
        assert len(drain(consumer, 10)) == 10
        consumer.commit()

    assert committed_offsets(kafka_settings.kafka, group_id, [topic]) == {
        (topic, 0): 5,
        (topic, 1): 5,
    }


def test_topics_cli_creates_and_lists(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("kafka_bootstrap_servers", "topic_transactions", "topic_verdicts"):
        monkeypatch.setenv(f"FRAUD_{name.upper()}", str(kafka_settings.value(name)))
    monkeypatch.setenv("FRAUD_TRANSACTIONS_PARTITIONS", "3")
    app = typer.Typer()
    kafka_cli.register(app)
    runner = CliRunner()

    first = runner.invoke(app, ["topics", "create"])
    second = runner.invoke(app, ["topics", "create"])
    listing = runner.invoke(app, ["topics", "list"])

    assert first.exit_code == 0, first.output
    assert f"{kafka_settings.topics.transactions}: 3 partitions, created" in first.output
    assert f"{kafka_settings.topics.transactions}: 3 partitions, exists" in second.output
    assert listing.exit_code == 0, listing.output
    assert kafka_settings.topics.transactions in listing.output
