"""10,000 Sparkov transactions through the real broker: nothing lost, nothing changed, and every
card on the partition a Java or Faust producer would have chosen."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

import orjson
import pytest
from aiokafka.partitioner import murmur2

from fixtures.kafka import TopicFactory, drain, unique
from fixtures.records import GOOD
from fraudstream.config import Settings
from fraudstream.errors import BrokerError
from fraudstream.kafka.consumer import Consumer
from fraudstream.kafka.producer import Producer
from fraudstream.schema import CATEGORIES, TIMESTAMP_FORMAT, parse_transaction

pytestmark = pytest.mark.integration

N = 10_000
PARTITIONS = 6


def transactions(n: int, seed: int = 7) -> list[dict[str, object]]:
    """Valid Kaggle-form records over 300 cards (several per card, so order per key shows)."""
    rng = random.Random(seed)
    cards = [rng.randrange(10**15, 10**16) for _ in range(300)]
    start = datetime(2020, 6, 21, 0, 0, 0)
    records = []
    for i in range(n):
        when = start + timedelta(seconds=7 * i)
        record = {
            **GOOD,
            "trans_date_trans_time": when.strftime(TIMESTAMP_FORMAT),
            "cc_num": rng.choice(cards),
            "merchant": f"fraud_Merchant {i % 97}",
            "category": rng.choice(CATEGORIES),
            "amt": round(rng.lognormvariate(3.5, 1.2), 2),
            "trans_num": f"{rng.getrandbits(128):032x}",
            "unix_time": 1_592_697_600 + 7 * i,
            "merch_lat": round(36 + rng.random(), 6),
            "merch_long": round(-81 - rng.random(), 6),
        }
        del record["is_fraud"]
        records.append(parse_transaction(record).to_record())
    return records


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_ten_thousand_transactions_round_trip(
    kafka_settings: Settings, topic_factory: TopicFactory, group_id: str
) -> None:
    topic = topic_factory(partitions=PARTITIONS)
    records = transactions(N)
    sent = [(str(r["cc_num"]).encode(), orjson.dumps(r)) for r in records]

    with Producer(kafka_settings.kafka) as producer:
        for key, value in sent:
            producer.produce(topic, value, key=key)
    assert producer.delivered == N
    assert producer.failed == 0

    with Consumer(kafka_settings.kafka, group_id) as consumer:
        consumer.subscribe([topic])
        received = drain(consumer, N)

    assert len(received) == N
    got = [(m.key(), m.value()) for m in received]
    assert sorted(got) == sorted(sent)  # every key and value, byte for byte
    for message in received:
        key = message.key()
        assert key is not None
        assert message.partition() == java_partition(key, PARTITIONS)
    # within a partition, messages keep the order they were produced in
    by_partition: dict[int | None, list[bytes | None]] = defaultdict(list)
    for message in received:
        by_partition[message.partition()].append(message.value())
    for partition, values in by_partition.items():
        expected = [v for k, v in sent if java_partition(k, PARTITIONS) == partition]
        assert values == expected
    assert {orjson.loads(v)["trans_num"] for _, v in got} == {r["trans_num"] for r in records}


def test_an_explicit_partition_is_kept_and_headers_travel(
    kafka_settings: Settings, topic_factory: TopicFactory, group_id: str
) -> None:
    topic = topic_factory(partitions=3)

    with Producer(kafka_settings.kafka) as producer:
        for i in range(30):
            producer.produce(
                topic, b"v%d" % i, key=b"same-key", partition=i % 3, headers=[("source", b"test")]
            )

    with Consumer(kafka_settings.kafka, group_id) as consumer:
        consumer.subscribe([topic])
        received = drain(consumer, 30)

    assert sorted((m.partition(), m.value()) for m in received) == sorted(
        (i % 3, b"v%d" % i) for i in range(30)
    )
    assert all(m.headers() == [("source", b"test")] for m in received)


def test_committed_offsets_resume_the_group(
    kafka_settings: Settings, topic_factory: TopicFactory, group_id: str
) -> None:
    topic = topic_factory(partitions=1)
    with Producer(kafka_settings.kafka) as producer:
        for i in range(100):
            producer.produce(topic, b"%d" % i)

    with Consumer(kafka_settings.kafka, group_id) as first:
        first.subscribe([topic])
        head = drain(first, 40)[:40]
        first.commit(head[-1])
    with Consumer(kafka_settings.kafka, group_id) as second:
        second.subscribe([topic])
        rest = drain(second, 60)

    assert [m.value() for m in rest] == [b"%d" % i for i in range(40, 100)]


def test_producing_to_a_missing_topic_fails_with_advice(kafka_settings: Settings) -> None:
    settings = kafka_settings.replace(kafka_delivery_timeout_seconds=2.0)
    producer = Producer(settings.kafka)
    producer.produce(unique("no-such-topic"), b"lost")

    with pytest.raises(BrokerError) as caught:
        producer.flush()

    text = str(caught.value)
    assert text.startswith("1 of 1 messages were not delivered")
    assert "has no topic" in text
    assert "fraudstream topics create" in text
    assert producer.failed == 1
