"""Kafka baseline: how fast confluent-kafka produces and consumes Sparkov JSON on this machine.

Every later pipeline figure (producer, stream processor, sink) is compared against this ceiling:
nothing that reads or writes Kafka here can be faster than Kafka alone. Four loops, each timed
on its own topic or group, on the broker of the local launcher (or ``--bootstrap``):

- produce: fraudstream's Producer (acks=all, idempotent, lz4, linger 20 ms, 1 MB batches), and
  the raw confluent-kafka Producer with the same configuration: the baseline of the ratio;
- consume: fraudstream's Consumer and the raw one, batches of 10,000, values left undecoded,
  and the wrapper again with ``orjson.loads`` on every value (what any real reader pays).

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


def produce_wrapper(settings: Settings, topic: str, messages: Messages) -> float:
    started = time.perf_counter()
    with Producer(settings) as producer:
        for key, value in messages:
            producer.produce(topic, value, key=key)
    elapsed = time.perf_counter() - started
    assert producer.delivered == len(messages), producer.delivered
    return elapsed


def produce_raw(settings: Settings, topic: str, messages: Messages) -> float:
    delivered = 0

    def on_delivery(error: confluent_kafka.KafkaError | None, _message: object) -> None:
        nonlocal delivered
        if error is None:
            delivered += 1

    producer = confluent_kafka.Producer({**producer_config(settings), "on_delivery": on_delivery})
    started = time.perf_counter()
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
    elapsed = time.perf_counter() - started
    assert delivered == len(messages), delivered
    return elapsed


def _timed_drain(
    consume: Callable[[], list[Any]], n: int, per_message: Callable[[Any], object]
) -> tuple[float, float]:
    """(seconds from subscribing to the last message, seconds from the first batch to the last).

    The second figure leaves out the group join and first fetch: the steady reading rate.
    """
    started = time.perf_counter()
    first_at = 0.0
    first_count = 0
    count = 0
    while count < n:
        batch = consume()
        if not batch:
            continue
        for message in batch:
            per_message(message)
        if not first_at:
            first_at, first_count = time.perf_counter(), len(batch)
        count += len(batch)
    ended = time.perf_counter()
    steady = (ended - first_at) * n / max(1, n - first_count)
    return ended - started, steady


def _ignore(_message: object) -> None:
    return None


def _decode(message: Any) -> None:
    orjson.loads(message.value())


def consume_wrapper(settings: Settings, topic: str, n: int, decode: bool) -> tuple[float, float]:
    with Consumer(settings, f"bench-{uuid.uuid4().hex[:8]}") as consumer:
        consumer.subscribe([topic])
        return _timed_drain(lambda: consumer.consume(BATCH, 1.0), n, _decode if decode else _ignore)


def consume_raw(settings: Settings, topic: str, n: int) -> tuple[float, float]:
    consumer = confluent_kafka.Consumer(consumer_config(settings, f"bench-{uuid.uuid4().hex[:8]}"))
    try:
        consumer.subscribe([topic])
        return _timed_drain(lambda: consumer.consume(BATCH, 1.0), n, _ignore)
    finally:
        consumer.close()


def _rate(n: int, payload: int, seconds: float) -> dict[str, float]:
    return {
        "seconds": round(seconds, 3),
        "messages_per_s": round(n / seconds),
        "mb_per_s": round(payload / seconds / 1e6, 1),
    }


def _read_rate(n: int, payload: int, timings: tuple[float, float]) -> dict[str, float]:
    total, steady = timings
    return {**_rate(n, payload, steady), "with_join_seconds": round(total, 3)}


def _topic_bytes_on_disk(data_dir: Path, topic: str) -> int:
    return sum(p.stat().st_size for p in (data_dir / "data").glob(f"{topic}-*/*.log"))


def one_run(settings: Settings, messages: Messages, partitions: int, swap: bool) -> dict[str, Any]:
    """Every loop once, on fresh topics and groups; ``swap`` runs each wrapper before its raw
    twin, so that a neighbour's load or the JVM's warming does not always favour the same one."""
    n = len(messages)
    payload = sum(len(k) + len(v) for k, v in messages)
    raw, topic = (f"bench-{uuid.uuid4().hex[:8]}" for _ in range(2))
    ensure_topics(settings, [TopicSpec(raw, partitions), TopicSpec(topic, partitions)])
    steps: list[tuple[str, Callable[[], dict[str, float]]]] = [
        ("produce_raw", lambda: _rate(n, payload, produce_raw(settings, raw, messages))),
        ("produce", lambda: _rate(n, payload, produce_wrapper(settings, topic, messages))),
        ("consume_raw", lambda: _read_rate(n, payload, consume_raw(settings, topic, n))),
        ("consume", lambda: _read_rate(n, payload, consume_wrapper(settings, topic, n, False))),
    ]
    if swap:
        steps = [steps[1], steps[0], steps[3], steps[2]]
    result: dict[str, Any] = {name: step() for name, step in steps}
    result["consume_orjson"] = _read_rate(n, payload, consume_wrapper(settings, topic, n, True))
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
        ensure_topics(settings, [TopicSpec(warm_up, args.partitions)])
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
            k: statistics.median(r[loop][k] for r in runs) for k in ("messages_per_s", "mb_per_s")
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
                    for k, v in producer_config(settings).items()
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
