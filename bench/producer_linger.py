"""The producer's linger: what waiting for a fuller batch costs and saves, at each load.

librdkafka holds a message up to ``linger.ms`` for more to join its batch. Under load the
batches fill anyway while earlier requests are in flight, so the linger only adds latency when
the load is low; with none, more and smaller requests cost the broker and the client more CPU.
This measures both sides on the project's own producer configuration (``producer_config``: acks
all, idempotent, lz4, 1 MB batches) with each linger in turn, against a fresh broker:

- at each ``--rates`` (paced, the Sparkov-shaped messages of the pipeline benchmark, 6
  partitions): produce to acknowledged p50 / p99 (the delivery report's time), produce requests
  per second (librdkafka's statistics), and CPU per message of this process and of the broker
  (from /proc);
- unpaced: messages/s until the broker acknowledged the last one.

Rounds alternate the order of the lingers; medians over rounds, and each linger's ratio to the
first one given (the baseline: the project's default, 5 ms).

Usage: ``.venv/bin/python bench/producer_linger.py [--lingers 5,0] [--rates 2000,10000]
[--seconds 10] [--rounds 3]``; writes ``bench/results/producer_linger.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka import KafkaError, Message, Producer

from _common import sparkov_messages, versions, write_result
from fraudstream.config import Settings
from fraudstream.kafka.admin import TopicSpec, ensure_topics
from fraudstream.kafka.config import producer_config
from fraudstream.local.kafka import kafka_spec
from fraudstream.local.process import ManagedProcess, free_port

PARTITIONS = 6


class Run:
    """One producer at one linger: what it sent, when each was acknowledged, what it cost."""

    def __init__(self, settings: Settings, linger_ms: float) -> None:
        self.topic = f"bench-linger-{uuid.uuid4().hex[:8]}"
        ensure_topics(settings.kafka, [TopicSpec(self.topic, PARTITIONS)])
        self.acked: list[float] = []
        self.requests = 0
        self.producer = Producer(
            {
                **producer_config(settings.kafka, {"linger.ms": linger_ms}),
                "statistics.interval.ms": 1000,
                "stats_cb": self._stats,
            }
        )
        # metadata and the idempotent producer id before anything is timed
        self.producer.produce(self.topic, b"warm-up", b"warm-up")
        self.producer.flush(30)
        self.requests = 0

    def _stats(self, raw: str) -> None:
        stats = json.loads(raw)
        self.requests = sum(b.get("req", {}).get("Produce", 0) for b in stats["brokers"].values())

    def send(self, messages: list[tuple[bytes, bytes]], rate: float) -> float:
        """Produce every message (at ``rate`` per second; 0: unpaced); the seconds until the
        last one was acknowledged."""
        started = time.perf_counter()
        for i, (key, value) in enumerate(messages):
            if rate:
                due = started + i / rate
                while (wait := due - time.perf_counter()) > 0:
                    self.producer.poll(min(wait, 0.001))
            sent = time.perf_counter()

            def acked(error: KafkaError | None, _message: Message, sent: float = sent) -> None:
                assert error is None, error
                self.acked.append(time.perf_counter() - sent)

            while True:
                try:
                    self.producer.produce(self.topic, value, key, on_delivery=acked)
                    break
                except BufferError:
                    self.producer.poll(0.01)
            self.producer.poll(0)
        assert self.producer.flush(60) == 0
        seconds = time.perf_counter() - started
        self.producer.poll(1.5)  # one more statistics callback, with the last requests
        return seconds


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def measure(
    settings: Settings,
    broker: psutil.Process,
    linger_ms: float,
    messages: list[tuple[bytes, bytes]],
    rate: float,
) -> dict[str, float]:
    run = Run(settings, linger_ms)
    me = psutil.Process()
    before = (cpu(me), cpu(broker), run.requests)
    seconds = run.send(messages, rate)
    n = len(messages)
    acked = sorted(run.acked)
    return {
        "linger_ms": linger_ms,
        "offered_per_s": rate,
        "achieved_per_s": round(n / seconds),
        "acked_p50_ms": round(acked[n // 2] * 1000, 2),
        "acked_p99_ms": round(acked[int(n * 0.99)] * 1000, 2),
        "produce_requests_per_s": round((run.requests - before[2]) / seconds, 1),
        "messages_per_request": round(n / max(1, run.requests - before[2]), 1),
        "client_cpu_us_per_message": round((cpu(me) - before[0]) / n * 1e6, 2),
        "broker_cpu_us_per_message": round((cpu(broker) - before[1]) / n * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lingers", default="5,0", help="linger.ms values; the first is the baseline"
    )
    parser.add_argument("--rates", default="2000,10000", help="paced loads, messages/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="of each paced load")
    parser.add_argument("--unpaced", type=int, default=200_000, help="messages of the unpaced load")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lingers = [float(x) for x in args.lingers.split(",")]
    rates = [float(x) for x in args.rates.split(",")]
    loads = [*rates, 0.0]
    rounds: list[list[dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="linger-bench-") as folder:
        kafka = ManagedProcess(kafka_spec(Settings(), Path(folder), port=free_port()))
        with kafka:
            settings = Settings(kafka_bootstrap_servers=kafka.spec.address)
            broker = psutil.Process(kafka.pid or 0)
            warm = sparkov_messages(50_000, seed=99)
            for linger in lingers:  # the broker's JIT, before anything counts
                measure(settings, broker, linger, warm, 10_000)
            for r in range(args.rounds):
                points: list[dict[str, float]] = []
                order = lingers if r % 2 == 0 else list(reversed(lingers))
                for load in loads:
                    n = args.unpaced if load == 0 else int(load * args.seconds)
                    messages = sparkov_messages(n, seed=r * 100 + int(load) % 97)
                    for linger in order:
                        point = measure(settings, broker, linger, messages, load)
                        points.append(point)
                        print(f"round {r + 1}: {point}", flush=True)
                rounds.append(points)
    summary: list[dict[str, Any]] = []
    for load in loads:
        base: dict[str, float] = {}
        for linger in lingers:
            mine = [
                p
                for points in rounds
                for p in points
                if p["offered_per_s"] == load and p["linger_ms"] == linger
            ]
            median = {k: statistics.median(p[k] for p in mine) for k in mine[0]}
            base = base or median
            median["broker_cpu_over_baseline"] = round(
                median["broker_cpu_us_per_message"] / base["broker_cpu_us_per_message"], 3
            )
            median["achieved_over_baseline"] = round(
                median["achieved_per_s"] / base["achieved_per_s"], 3
            )
            summary.append(median)
            print(f"median: {median}", flush=True)
    path = write_result(
        "producer_linger",
        {
            "command": "bench/producer_linger.py "
            + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
            "partitions": PARTITIONS,
            "median": summary,
            "rounds": rounds,
            "versions": versions("confluent-kafka"),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
