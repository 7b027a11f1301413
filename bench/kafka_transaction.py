"""What one Kafka transaction costs the broker: the stream's commit against plain produces.

The stream ends each attempt with one Kafka transaction (its verdicts and the input offsets,
``kafka.transactions.TransactionalProducer.commit``). This measures, on the launcher's broker,
the broker's CPU and the wall time per batch of ``--batch`` verdict-sized messages:

- **transaction**: the project's ``TransactionalProducer.commit`` (messages + one offset), as
  the stream calls it, one every ``--gap`` seconds (an attempt's length at moderate load);
- **plain**: the same messages through the project's idempotent ``Producer`` and a flush, at
  the same pace: the baseline, since any design must at least produce its verdicts.

The two alternate over ``--rounds``, after ``--warmup`` transactions (the broker's JIT compiles
for about a minute after its start, and a cold broker costs several times more per request).
The broker's CPU is read from /proc, its idle CPU over the same wall time taken off.

Usage: ``.venv/bin/python bench/kafka_transaction.py [--batch 70] [--n 300] [--rounds 3]``;
writes ``bench/results/kafka_transaction.json``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from _common import versions, write_result
from fraudstream.config import Settings
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.kafka.producer import Producer
from fraudstream.kafka.transactions import Outgoing, TransactionalProducer
from fraudstream.local.kafka import kafka_spec
from fraudstream.local.process import ManagedProcess, free_port

VALUE = b'{"trans_num":"' + b"0" * 32 + b'","is_fraud":false,"score":0.01}' + b" " * 300


def broker_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def timed(
    pid: int, idle_per_s: float, n: int, gap: float, one: Callable[[int], None]
) -> dict[str, float]:
    """``one(i)`` ``n`` times, ``gap`` apart: broker CPU (ms, idle taken off) and wall (ms) per
    call."""
    walls = []
    cpu_before, started = broker_cpu(pid), time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        one(i)
        walls.append(time.perf_counter() - t0)
        time.sleep(gap)
    elapsed = time.perf_counter() - started
    cpu = broker_cpu(pid) - cpu_before - idle_per_s * elapsed
    walls.sort()
    return {
        "broker_cpu_ms": cpu / n * 1000,
        "wall_p50_ms": walls[n // 2] * 1000,
        "wall_p99_ms": walls[int(n * 0.99)] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=70, help="messages per batch")
    parser.add_argument("--n", type=int, default=300, help="batches per round")
    parser.add_argument("--gap", type=float, default=0.025, help="seconds between batches")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1500, help="transactions before timing")
    parser.add_argument(
        "--lingers",
        default="",
        help="also time the transaction with each of these linger.ms (the stream's is "
        "TRANSACTION_DEFAULTS'); each its own producer, alternated with the others",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-kafka-transaction-"))
    base = Settings(_env_file=None, home=folder)
    kafka = ManagedProcess(kafka_spec(base, folder / "kafka", port=free_port()))
    with kafka:
        settings = base.replace(kafka_bootstrap_servers=kafka.spec.address)
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        pid = kafka.pid or 0
        topic, source = settings.topics.verdicts, settings.topics.transactions
        batch = [Outgoing(topic, VALUE, str(k)) for k in range(args.batch)]

        def producer(linger_ms: float | None = None) -> TransactionalProducer:
            made = TransactionalProducer(
                settings.kafka,
                transactional_id=f"bench-{uuid.uuid4().hex[:8]}",
                group_id="bench-transaction",
                timeout_seconds=10,
                overrides=None if linger_ms is None else {"linger.ms": linger_ms},
            )
            made.start()
            return made

        txn = producer()
        lingers = [float(ms) for ms in args.lingers.split(",") if ms]
        others = {f"transaction, linger {ms:g} ms": producer(ms) for ms in lingers}
        with Producer(settings.kafka) as plain:

            def transaction(i: int) -> None:
                txn.commit(batch, {(source, 0): i + 1})

            def lingering(made: TransactionalProducer) -> Callable[[int], None]:
                def one(i: int) -> None:
                    made.commit(batch, {(source, 1): i + 1})

                return one

            def produce(_: int) -> None:
                for m in batch:
                    plain.produce(m.topic, m.value, m.key)
                plain.flush()

            variants = {
                "transaction": transaction,
                "plain": produce,
                **{name: lingering(made) for name, made in others.items()},
            }
            print(f"warming the broker up ({args.warmup} transactions)...", flush=True)
            for i in range(args.warmup):
                transaction(i)
            for one in variants.values():
                for i in range(100):
                    one(i)
            cpu_before = broker_cpu(pid)
            time.sleep(5)
            idle = (broker_cpu(pid) - cpu_before) / 5
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
            for r in range(args.rounds):
                order = list(variants.items())
                for name, one in order if r % 2 == 0 else reversed(order):
                    figures = timed(pid, idle, args.n, args.gap, one)
                    rounds[name].append(figures)
                    print(f"  round {r + 1}, {name}: {figures}", flush=True)
        for made in [txn, *others.values()]:
            made.close()

    def median(name: str, key: str) -> float:
        return statistics.median(f[key] for f in rounds[name])

    results: dict[str, Any] = {
        "batch": args.batch,
        "per_round": args.n,
        "gap_seconds": args.gap,
        "idle_broker_cpu_share": idle,
        "rounds": rounds,
        "median": {name: {key: median(name, key) for key in rounds[name][0]} for name in rounds},
        "versions": versions("confluent-kafka"),
    }
    results["ratios"] = {
        "broker_cpu_transaction_over_plain": median("transaction", "broker_cpu_ms")
        / median("plain", "broker_cpu_ms"),
        "wall_p50_transaction_over_plain": median("transaction", "wall_p50_ms")
        / median("plain", "wall_p50_ms"),
    }
    print(results["median"], results["ratios"])
    print(f"wrote {write_result('kafka_transaction', results)}")


if __name__ == "__main__":
    main()
