"""The broker's garbage collector against the stream's Kafka transactions.

The local broker ran G1 with a 256 MB heap: a young collection every couple of seconds, 13-20 ms
each (``jstat`` beside a 2,000 tx/s load), which stalls every request in flight, the stream's
transaction among them. Since decision 26 it runs G1 with a fixed 1 GB heap (``g1-1g-fixed``).

This starts one broker per variant (its JVM's collector and heap), in turn, and times the
project's ``TransactionalProducer.commit`` as the stream calls it (``--batch`` verdict-sized
messages and one offset, one every ``--gap`` seconds) after ``--warmup`` transactions: the wall
time's quantiles and the broker's CPU per transaction, from /proc.

Usage: ``.venv/bin/python bench/broker_gc.py [--variants g1-256m,zgc-1g] [--rounds 2]``;
writes ``bench/results/broker_gc.json``. Rounds alternate the variants' order.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from _common import versions, write_result
from fraudstream.config import Settings
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.kafka.transactions import Outgoing, TransactionalProducer
from fraudstream.local.kafka import kafka_spec
from fraudstream.local.process import ManagedProcess, free_port
from kafka_transaction import VALUE

VARIANTS = {
    "g1-256m": ["-Xmx256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"],  # the launcher's before
    "g1-1g-fixed": ["-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"],  # since
    "zgc-1g": ["-Xms1g", "-Xmx1g", "-XX:+UseZGC"],
    "shenandoah-1g": ["-Xms1g", "-Xmx1g", "-XX:+UseShenandoahGC"],
}
LAUNCHER_GC = ("-Xms", "-Xmx", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=")


def with_collector(argv: Sequence[str], options: list[str]) -> list[str]:
    """The launcher's command with its heap and collector options replaced by ``options``."""
    kept = [a for a in argv[1:] if not a.startswith(LAUNCHER_GC)]
    if len(kept) != len(argv) - 1 - len(LAUNCHER_GC):
        raise RuntimeError(f"the launcher's JVM options changed: {argv}")
    return [argv[0], *options, *kept]


def measure(name: str, args: argparse.Namespace) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-broker-gc-{name}-"))
    base = Settings(_env_file=None, home=folder)
    spec = kafka_spec(base, folder / "kafka", port=free_port())
    spec = dataclasses.replace(spec, argv=with_collector(spec.argv, VARIANTS[name]))
    with ManagedProcess(spec) as kafka:
        settings = base.replace(kafka_bootstrap_servers=kafka.spec.address)
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        topic, source = settings.topics.verdicts, settings.topics.transactions
        batch = [Outgoing(topic, VALUE, str(k)) for k in range(args.batch)]
        txn = TransactionalProducer(
            settings.kafka,
            transactional_id=f"bench-{uuid.uuid4().hex[:8]}",
            group_id="bench-broker-gc",
            timeout_seconds=10,
        )
        txn.start()
        for i in range(args.warmup):
            txn.commit(batch, {(source, 0): i + 1})
        broker = psutil.Process(kafka.pid)
        cpu_before = sum(broker.cpu_times()[:2])
        walls = []
        for i in range(args.n):
            started = time.perf_counter()
            txn.commit(batch, {(source, 0): args.warmup + i + 1})
            walls.append((time.perf_counter() - started) * 1000)
            time.sleep(args.gap)
        cpu = sum(broker.cpu_times()[:2]) - cpu_before
        rss = broker.memory_info().rss / 2**20
        txn.close()
    walls.sort()

    def q(f: float) -> float:
        return walls[min(len(walls) - 1, int(len(walls) * f))]

    return {
        "wall_p50_ms": q(0.5),
        "wall_p90_ms": q(0.9),
        "wall_p99_ms": q(0.99),
        "wall_p999_ms": q(0.999),
        "wall_max_ms": walls[-1],
        "broker_cpu_ms": cpu / args.n * 1000,
        "broker_rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"of {list(VARIANTS)}")
    parser.add_argument("--batch", type=int, default=55, help="messages per transaction")
    parser.add_argument("--n", type=int, default=1500, help="timed transactions per round")
    parser.add_argument("--gap", type=float, default=0.018, help="seconds between them")
    parser.add_argument("--warmup", type=int, default=3000, help="transactions before timing")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    chosen = [v for v in args.variants.split(",") if v]
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
    for r in range(args.rounds):
        for name in chosen if r % 2 == 0 else reversed(chosen):
            figures = measure(name, args)
            rounds[name].append(figures)
            print(f"  round {r + 1}, {name}: {figures}", flush=True)
    median = {
        name: {key: statistics.median(f[key] for f in found) for key in found[0]}
        for name, found in rounds.items()
    }
    baseline = median[chosen[0]]
    results: dict[str, Any] = {
        "batch": args.batch,
        "per_round": args.n,
        "gap_seconds": args.gap,
        "rounds": rounds,
        "median": median,
        # each variant over the first one (the launcher's, by default)
        "ratios": {
            name: {
                "broker_cpu": m["broker_cpu_ms"] / baseline["broker_cpu_ms"],
                "wall_p99": m["wall_p99_ms"] / baseline["wall_p99_ms"],
            }
            for name, m in median.items()
        },
        "versions": versions("confluent-kafka"),
    }
    print(results["median"], results["ratios"])
    print(f"wrote {write_result('broker_gc', results)}")


if __name__ == "__main__":
    main()
