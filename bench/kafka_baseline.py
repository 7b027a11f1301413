"""Kafka baseline: how fast confluent-kafka produces and consumes Sparkov JSON on this machine.

Every later pipeline figure (producer, stream processor, sink) is compared against this ceiling:
nothing that reads or writes Kafka here can be faster than Kafka alone. Five loops, each timed
on its own topic or group, on the broker of the local launcher (or ``--bootstrap``), after an
untimed warm-up:

- produce: fraudstream's Producer (acks=all, idempotent, lz4, linger 5 ms, 1 MB batches), and
  the raw confluent-kafka Producer with the same configuration: the baseline of the ratio;
- consume: fraudstream's Consumer and the raw one (same configuration), batches of 10,000,
  values left undecoded, and the wrapper again with ``orjson.loads`` on every value (what any
  real reader pays).

Each loop reports wall-clock rates and the client's own CPU per message (this process: Python
and librdkafka's threads), which a busy neighbour on a shared machine disturbs far less.

Usage: ``.venv/bin/python bench/kafka_baseline.py [--messages 200000] [--partitions 6]
[--repeat 3] [--bootstrap HOST:PORT]``; writes ``bench/results/kafka_baseline.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import confluent_kafka
import orjson

from _common import sparkov_messages, versions, write_result
from fraudstream.config import Settings
from fraudstream.kafka.admin import TopicSpec, ensure_topics
from fraudstream.kafka.config import consumer_config, producer_config
from fraudstream.kafka.consumer import Consumer
from fraudstream.kafka.producer import Producer
from fraudstream.local.kafka import kafka_spec
from fraudstream.local.process import running

Messages = list[tuple[bytes, bytes]]
BATCH = 10_000
LOOPS = ("produce_raw", "produce", "consume_raw", "consume", "consume_orjson")


@dataclass(frozen=True)
class Timing:
    """One timed loop: wall time is the figure, this process's CPU time (Python and librdkafka's
    threads) says what the client itself costs, which a busy neighbour disturbs far less."""

    seconds: float
    cpu_seconds: float
    with_join_seconds: float | None = None
    """Consumers: from subscribing to the last message (the group join and first fetch)."""


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def timing(self, **extra: float) -> Timing:
        return Timing(time.perf_counter() - self.wall, time.process_time() - self.cpu, **extra)


def produce_wrapper(settings: Settings, topic: str, messages: Messages) -> Timing:
    clock = _Clock()
    with Producer(settings.kafka) as producer:
        for key, value in messages:
            producer.produce(topic, value, key=key)
    timing = clock.timing()
    assert producer.delivered == len(messages), producer.delivered
    return timing


def produce_raw(settings: Settings, topic: str, messages: Messages) -> Timing:
    delivered = 0

    def on_delivery(error: confluent_kafka.KafkaError | None, _message: object) -> None:
        nonlocal delivered
        if error is None:
            delivered += 1

    producer = confluent_kafka.Producer(
        {**producer_config(settings.kafka), "on_delivery": on_delivery}
    )
    clock = _Clock()
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value, key)
            except BufferError:
                producer.poll(0.05)
                continue
            break
        producer.poll(0)
    producer.flush()
    timing = clock.timing()
    assert delivered == len(messages), delivered
    return timing


def _timed_drain(
    consume: Callable[[], list[Any]], n: int, per_message: Callable[[Any], object]
) -> Timing:
    """The steady reading rate: from the first batch to the last (scaled to ``n`` messages),
    leaving out the group join and first fetch, which ``with_join_seconds`` includes."""
    subscribed = time.perf_counter()
    clock: _Clock | None = None
    first_count = count = 0
    while count < n:
        batch = consume()
        if not batch:
            continue
        for message in batch:
            per_message(message)
        if clock is None:
            clock, first_count = _Clock(), len(batch)
        count += len(batch)
    assert clock is not None
    steady = clock.timing(with_join_seconds=time.perf_counter() - subscribed)
    scale = n / max(1, n - first_count)
    return replace(steady, seconds=steady.seconds * scale, cpu_seconds=steady.cpu_seconds * scale)


def _ignore(_message: object) -> None:
    return None


def _decode(message: Any) -> None:
    orjson.loads(message.value())


def consume_wrapper(settings: Settings, topic: str, n: int, decode: bool) -> Timing:
    with Consumer(settings.kafka, f"bench-{uuid.uuid4().hex[:8]}") as consumer:
        consumer.subscribe([topic])
        return _timed_drain(lambda: consumer.consume(BATCH, 1.0), n, _decode if decode else _ignore)


def consume_raw(settings: Settings, topic: str, n: int) -> Timing:
    consumer = confluent_kafka.Consumer(
        consumer_config(settings.kafka, f"bench-{uuid.uuid4().hex[:8]}")
    )
    try:
        consumer.subscribe([topic])
        return _timed_drain(lambda: consumer.consume(BATCH, 1.0), n, _ignore)
    finally:
        consumer.close()


def _rate(n: int, payload: int, timing: Timing) -> dict[str, float]:
    figures = {
        "seconds": round(timing.seconds, 3),
        "messages_per_s": round(n / timing.seconds),
        "mb_per_s": round(payload / timing.seconds / 1e6, 1),
        "client_cpu_us_per_message": round(timing.cpu_seconds / n * 1e6, 2),
    }
    if timing.with_join_seconds is not None:
        figures["with_join_seconds"] = round(timing.with_join_seconds, 3)
    return figures


def _topic_bytes_on_disk(data_dir: Path, topic: str) -> int:
    return sum(p.stat().st_size for p in (data_dir / "data").glob(f"{topic}-*/*.log"))


def one_run(settings: Settings, messages: Messages, partitions: int, swap: bool) -> dict[str, Any]:
    """Every loop once, on fresh topics and groups; ``swap`` runs each wrapper before its raw
    twin, so that a neighbour's load or the JVM's warming does not always favour the same one."""
    n = len(messages)
    payload = sum(len(k) + len(v) for k, v in messages)
    raw, topic = (f"bench-{uuid.uuid4().hex[:8]}" for _ in range(2))
    ensure_topics(settings.kafka, [TopicSpec(raw, partitions), TopicSpec(topic, partitions)])
    steps: list[tuple[str, Callable[[], dict[str, float]]]] = [
        ("produce_raw", lambda: _rate(n, payload, produce_raw(settings, raw, messages))),
        ("produce", lambda: _rate(n, payload, produce_wrapper(settings, topic, messages))),
        ("consume_raw", lambda: _rate(n, payload, consume_raw(settings, topic, n))),
        ("consume", lambda: _rate(n, payload, consume_wrapper(settings, topic, n, False))),
    ]
    if swap:
        steps = [steps[1], steps[0], steps[3], steps[2]]
    result: dict[str, Any] = {name: step() for name, step in steps}
    result["consume_orjson"] = _rate(n, payload, consume_wrapper(settings, topic, n, True))
    result["topic"] = topic
    return result


@contextlib.contextmanager
def broker(bootstrap: str | None) -> Iterator[tuple[str, Path | None]]:
    """The broker to measure: the given one, or a fresh one from the local launcher."""
    if bootstrap:
        yield bootstrap, None
        return
    with tempfile.TemporaryDirectory(prefix="kafka-bench-") as folder:
        spec = kafka_spec(Settings(), Path(folder))
        with running(spec):
            yield spec.address, Path(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", help="measure this broker instead of starting one")
    args = parser.parse_args()
    n = args.messages

    print(f"generating {n:,} Sparkov messages ...", flush=True)
    messages = sparkov_messages(n, seed=args.seed)
    payload = sum(len(k) + len(v) for k, v in messages)
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with broker(args.bootstrap) as (bootstrap, data_dir):
        settings = Settings(kafka_bootstrap_servers=bootstrap)
        # Untimed warm-up: the first producer waits for its id while the coordinator loads,
        # and a fresh JVM serves its first fetches from interpreted code.
        warm_up, warm = f"bench-warm-up-{uuid.uuid4().hex[:8]}", min(n, 50_000)
        ensure_topics(settings.kafka, [TopicSpec(warm_up, args.partitions)])
        produce_wrapper(settings, warm_up, messages[:warm])
        consume_wrapper(settings, warm_up, warm, False)
        for run in range(1, args.repeat + 1):
            result = one_run(settings, messages, args.partitions, swap=run % 2 == 0)
            topic = result.pop("topic")
            if data_dir is not None:
                on_disk = _topic_bytes_on_disk(data_dir, topic)
                result["lz4_ratio_on_disk"] = round(payload / on_disk, 2)
            runs.append(result)
            print(
                f"run {run}: "
                + ", ".join(f"{loop} {result[loop]['messages_per_s']:,}/s" for loop in LOOPS),
                flush=True,
            )
    median = {
        loop: {
            k: round(statistics.median(r[loop][k] for r in runs), 2)
            for k in ("messages_per_s", "mb_per_s", "client_cpu_us_per_message")
        }
        for loop in LOOPS
    }
    local = Settings()
    path = write_result(
        "kafka_baseline",
        {
            "command": "bench/kafka_baseline.py "
            + " ".join(f"--{k} {v}" for k, v in vars(args).items() if v is not None),
            "workload": {
                "messages": n,
                "partitions": args.partitions,
                "mean_message_bytes": round(payload / n, 1),
                "key": "cc_num (1,000 cards)",
                "producer": {
                    k: v
                    for k, v in producer_config(settings.kafka).items()
                    if k not in {"bootstrap.servers", "client.id"}
                },
            },
            "broker": (
                f"Apache Kafka {local.kafka_version}, local launcher, heap {local.kafka_heap}"
                if data_dir
                else f"external at {bootstrap}"
            ),
            "versions": {
                **versions("confluent-kafka", "orjson"),
                "librdkafka": confluent_kafka.libversion()[0],
            },
            "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "runs": runs,
            "median": median,
            "ratios": {
                f"{loop}_vs_{base}": round(
                    statistics.median(
                        r[loop]["messages_per_s"] / r[base]["messages_per_s"] for r in runs
                    ),
                    3,
                )
                for loop, base in (
                    ("produce", "produce_raw"),
                    ("consume", "consume_raw"),
                    ("consume_orjson", "consume_raw"),
                )
            },
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
