"""faust-streaming (over aiokafka) and confluent-kafka agree on the same real broker.

Our producer writes lz4-compressed transactions; a Faust worker in its own process reads every
one of them, keeps a per-card table, and writes the trans_nums to another topic, which our
consumer reads back. Passing proves: aiokafka decodes librdkafka's lz4 batches (needs cramjam),
Faust's group protocol, topic creation and table changelog work against this broker version.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from fixtures.kafka import TopicFactory, drain, unique
from fraudstream.config import Settings
from fraudstream.kafka.consumer import Consumer
from fraudstream.kafka.producer import Producer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 2_000
PARTITIONS = 3
APP_DIR = Path(__file__).parent


def test_a_faust_agent_reads_every_lz4_message_we_produce(
    kafka_settings: Settings, topic_factory: TopicFactory, group_id: str, tmp_path: Path
) -> None:
    source = topic_factory(partitions=PARTITIONS, prefix="faust-in")
    sink = topic_factory(partitions=PARTITIONS, prefix="faust-out")
    sent = {}
    with Producer(kafka_settings.kafka) as producer:  # lz4 by default
        for i in range(N):
            trans_num = f"{i:032x}"
            card = str(4_000_000_000_000_000 + i % 37).encode()
            sent[trans_num] = card
            producer.produce(
                source, orjson.dumps({"trans_num": trans_num, "cc_num": int(card)}), key=card
            )
    log = tmp_path / "faust.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(APP_DIR),
        "SMOKE_APP_ID": unique("smoke"),
        "SMOKE_BROKER": kafka_settings.kafka.bootstrap_servers,
        "SMOKE_DATADIR": str(tmp_path / "faust-data"),
        "SMOKE_PARTITIONS": str(PARTITIONS),
        "SMOKE_SOURCE": source,
        "SMOKE_SINK": sink,
    }
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faust",
                "-A",
                "faust_smoke_app",
                "worker",
                "--without-web",
                "--loglevel",
                "info",
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with Consumer(kafka_settings.kafka, group_id) as consumer:
            consumer.subscribe([sink])
            received = drain(consumer, N, timeout=120)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])

    got = {m.value().decode(): m.key() for m in received}  # type: ignore[union-attr]
    assert len(received) == N, f"Faust forwarded {len(received)} of {N}; its log:\n{tail}"
    assert got == sent  # every trans_num, with its card as key
    assert "UnsupportedCodecError" not in log.read_text(errors="replace")
