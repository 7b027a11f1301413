"""Faust's fetch loop and the draining one (``stream_processor/drain.py``) on the same input, on
the real broker: the same messages delivered once each in partition order, and the same offsets
committed. The input is written in Kafka transactions, so every partition holds commit markers:
offset gaps that Faust must record (``_add_gap``) to commit past them."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import confluent_kafka
import pytest

from fixtures.kafka import TopicFactory, unique
from fixtures.pipeline import wait_for
from fraudstream.config import Settings
from fraudstream.kafka.admin import committed_offsets
from fraudstream.kafka.transactions import Outgoing, TransactionalProducer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

READER = Path(__file__).parents[2] / "fixtures" / "faust_reader.py"
PARTITIONS = 3
TRANSACTIONS = 8
PER_TRANSACTION = 400


class Aborting:
    """A second transactional writer whose transactions are all aborted: a read_committed
    reader skips their messages, so its partitions show gaps of several offsets."""

    def __init__(self, settings: Settings) -> None:
        self.producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": settings.kafka.bootstrap_servers,
                "transactional.id": unique("drain-aborting"),
            }
        )
        self.producer.init_transactions(30)

    def produce_and_abort(self, topic: str, t: int) -> None:
        self.producer.begin_transaction()
        for i in range(30):
            self.producer.produce(topic, f"aborted-{t}-{i}".encode(), key=f"card-{i % 37}")
        self.producer.flush(30)
        self.producer.abort_transaction(30)

    def close(self) -> None:
        self.producer.flush(30)


@pytest.fixture
def filled_topic(kafka_settings: Settings, topic_factory: TopicFactory) -> str:
    topic = topic_factory(partitions=PARTITIONS, prefix="drain")
    producer = TransactionalProducer(
        kafka_settings.kafka,
        transactional_id=unique("drain-writer"),
        group_id=unique("drain-writer"),
        timeout_seconds=10,
    )
    producer.start()
    aborted = Aborting(kafka_settings)
    try:
        for t in range(TRANSACTIONS):
            batch = [
                Outgoing(topic, f"{t}-{i}".encode(), key=f"card-{i % 37}")
                for i in range(PER_TRANSACTION)
            ]
            producer.commit(batch, {})
            aborted.produce_and_abort(topic, t)
    finally:
        producer.close()
        aborted.close()
    return topic


def read_all(settings: Settings, topic: str, folder: Path, *, fast: bool) -> tuple[Path, str]:
    """Run the reader until it has seen every message, stop it cleanly (Faust commits what was
    acknowledged), and return the file of what it saw and its group."""
    group = unique("reader")
    out = folder / f"{'fast' if fast else 'faust'}.seen"
    env = {
        **os.environ,
        "READER_BROKER": settings.kafka.bootstrap_servers,
        "READER_TOPIC": topic,
        "READER_APP_ID": group,
        "READER_FAST": "1" if fast else "0",
        "READER_OUT": str(out),
        "READER_DATADIR": str(folder / f"data-{group}"),
    }
    log = (folder / f"{group}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(READER), "worker", "--without-web", "-l", "warn"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    expected = TRANSACTIONS * PER_TRANSACTION

    def done() -> bool:
        assert proc.poll() is None, (folder / f"{group}.log").read_text()[-3000:]
        return out.exists() and len(out.read_text().splitlines()) >= expected

    try:
        wait_for(
            done,
            120,
            f"the reader (fast={fast}) to see {expected} messages",
        )
        time.sleep(1.5)  # anything delivered twice would show by now
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, (folder / f"{group}.log").read_text()[-3000:]
    return out, group


def seen(out: Path) -> list[tuple[int, int]]:
    return [(int(p), int(o)) for p, o in (line.split() for line in out.read_text().splitlines())]


def test_the_draining_loop_delivers_and_commits_exactly_as_faust_s(
    kafka_settings: Settings, filled_topic: str, tmp_path: Path
) -> None:
    topic = filled_topic
    faust_out, faust_group = read_all(kafka_settings, topic, tmp_path, fast=False)
    fast_out, fast_group = read_all(kafka_settings, topic, tmp_path, fast=True)

    by_faust, by_fast = seen(faust_out), seen(fast_out)
    assert len(by_fast) == len(set(by_fast)) == TRANSACTIONS * PER_TRANSACTION  # each once
    assert sorted(by_fast) == sorted(by_faust)
    for partition in range(PARTITIONS):  # in partition order
        offsets = [o for p, o in by_fast if p == partition]
        assert offsets == sorted(offsets)
    # the aborted transactions made gaps of several offsets in every partition
    assert all(any(b - a > 2 for a, b in pairs(by_fast, p)) for p in range(PARTITIONS))

    committed_faust = committed_offsets(kafka_settings.kafka, faust_group, [topic])
    committed_fast = committed_offsets(kafka_settings.kafka, fast_group, [topic])
    assert committed_fast == committed_faust
    # past every gap, to the last message read
    last = {p: max(o for q, o in by_fast if q == p) for p in range(PARTITIONS)}
    assert committed_fast == {(topic, p): last[p] + 1 for p in range(PARTITIONS)}

    # both paths of the draining loop ran: most deliveries direct, those that could wait raced
    raced = int(fast_out.with_suffix(".raced").read_text())
    assert 0 < raced < len(by_fast) / 2


def pairs(seen: list[tuple[int, int]], partition: int) -> Iterator[tuple[int, int]]:
    offsets = [o for p, o in seen if p == partition]
    return itertools.pairwise(offsets)
