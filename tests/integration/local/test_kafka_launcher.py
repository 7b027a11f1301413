"""The launcher's broker: it starts, is ready, stops, and starts again on the same folder with
every message and committed offset kept, at the same address."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.kafka import DedicatedBroker, drain
from fraudstream.config import Settings
from fraudstream.errors import LocalStackError
from fraudstream.kafka.admin import TopicSpec, cluster_id, committed_offsets, ensure_topics
from fraudstream.kafka.consumer import Consumer
from fraudstream.kafka.producer import Producer
from fraudstream.local.kafka import kafka_spec
from fraudstream.local.process import ManagedProcess, port_open

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = "kept"


def _produce(settings: Settings, n: int) -> None:
    with Producer(settings.kafka) as producer:
        for i in range(n):
            producer.produce(TOPIC, b"%d" % i, key=b"card-%d" % (i % 50))


def _values(messages: list) -> list[int]:  # type: ignore[type-arg]
    return sorted(int(m.value()) for m in messages)


def test_a_restart_keeps_messages_offsets_and_address(dedicated_broker: DedicatedBroker) -> None:
    broker = dedicated_broker
    settings = broker.settings()
    ensure_topics(settings.kafka, [TopicSpec(TOPIC, 3)])
    _produce(settings, 1000)
    with Consumer(settings.kafka, "readers") as consumer:
        consumer.subscribe([TOPIC])
        before = drain(consumer, 400)
        consumer.commit()
    offsets = committed_offsets(settings.kafka, "readers", [TOPIC])
    address, cluster = broker.bootstrap, cluster_id(broker.bootstrap)
    meta = broker.data_dir / "data" / "meta.properties"
    formatted = meta.read_text()

    broker.stop()
    host, port = address.rsplit(":", 1)
    assert not broker.alive()
    assert not port_open(host, int(port))

    broker.start()

    assert broker.bootstrap == address
    assert cluster_id(address) == cluster
    assert meta.read_text() == formatted  # not formatted again
    assert committed_offsets(settings.kafka, "readers", [TOPIC]) == offsets
    assert sum(offsets.values()) == 400
    with Consumer(settings.kafka, "readers") as consumer:
        consumer.subscribe([TOPIC])
        after = drain(consumer, 600)
    assert len(before) == 400
    assert len(after) == 600
    assert _values(before + after) == list(range(1000))  # the group resumed, no gap, no repeat
    with Consumer(settings.kafka, "newcomers") as consumer:
        consumer.subscribe([TOPIC])
        assert _values(drain(consumer, 1000)) == list(range(1000))


def test_acknowledged_messages_survive_a_crash(dedicated_broker: DedicatedBroker) -> None:
    settings = dedicated_broker.settings()
    ensure_topics(settings.kafka, [TopicSpec(TOPIC, 2)])
    _produce(settings, 500)

    dedicated_broker.kill()
    dedicated_broker.start()

    with Consumer(settings.kafka, "after-crash") as consumer:
        consumer.subscribe([TOPIC])
        assert _values(drain(consumer, 500)) == list(range(500))


def test_a_taken_port_fails_fast_and_is_never_mistaken_for_ours(
    dedicated_broker: DedicatedBroker, tmp_path: Path
) -> None:
    taken = int(dedicated_broker.bootstrap.rsplit(":", 1)[1])
    spec = kafka_spec(Settings(_env_file=None), tmp_path / "second", port=taken)

    assert not spec.probe()  # the broker answering there has another cluster id
    process = ManagedProcess(spec)
    process.start()
    try:
        with pytest.raises(LocalStackError, match="exited with code") as caught:
            process.wait_ready()
    finally:
        process.stop()
    assert str(spec.log_file) in str(caught.value)
    assert "Address already in use" in spec.log_file.read_text()
