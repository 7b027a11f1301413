"""Producer: how fast ``fraudstream produce`` feeds the transactions topic, against Kafka alone.

The baseline, measured in the same run on the same broker, is fraudstream's Kafka Producer
sending the very messages the producer sent, already encoded: what the producer would cost if
making, checking and encoding transactions were free. Each run (after an untimed warm-up)
times, on fresh topics and in alternating order:

- ``kafka``: the wrapper alone, the same keys and values, pre-built (the baseline);
- ``simulator``: ``ProduceRun`` over the simulator (generation, schema checks, the stream's
  decoder as a gate, JSON encoding, labels held back, Kafka), unpaced;
- ``csv`` and ``parquet``: ``ProduceRun`` replaying the same rows from a local file, streamed
  in chunks;
- ``paced``: the simulator at ``--rate`` transactions/s for ``--paced-seconds``: how close the
  achieved rate comes to the offered one.

Every loop counts until the broker confirmed the last message (the final flush), and reports
its client CPU per message (this process), which a busy neighbour disturbs less than the wall
clock.

Usage: ``.venv/bin/python bench/producer.py [--rows 200000] [--repeat 3] [--rate 2000]
[--bootstrap HOST:PORT]``; writes ``bench/results/producer.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from _common import versions, write_result
from fraudstream.config import Settings
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.kafka.producer import Producer
from fraudstream.producer.counts import Counts
from fraudstream.producer.frames import replayed_items, simulated_items
from fraudstream.producer.items import Outgoing
from fraudstream.producer.labels import LabelSchedule
from fraudstream.producer.run import ProduceRun, RunOptions, Source
from fraudstream.simulator import SimParams, Simulator
from kafka_baseline import broker

LOOPS = ("kafka", "simulator", "csv", "parquet")


def fresh(settings: Settings) -> Settings:
    """Settings whose five topics are new, and created."""
    suffix = uuid.uuid4().hex[:8]
    fresh = settings.replace(
        topic_transactions=f"bench-transactions-{suffix}",
        topic_labels=f"bench-labels-{suffix}",
        topic_dlq=f"bench-dlq-{suffix}",
        topic_verdicts=f"bench-verdicts-{suffix}",
        topic_model_events=f"bench-model-events-{suffix}",
    )
    ensure_topics(fresh.kafka, topic_specs(fresh.topics))
    return fresh


def timed(action: Callable[[], int]) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    n = action()
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "messages": n,
        "seconds": round(seconds, 3),
        "messages_per_s": round(n / seconds),
        "client_cpu_us_per_message": round(cpu_seconds / n * 1e6, 2),
    }


def kafka_alone(settings: Settings, messages: list[tuple[str, bytes]]) -> int:
    topic = settings.topics.transactions
    with Producer(settings.kafka) as producer:
        for key, value in messages:
            producer.produce(topic, value, key)
    assert producer.delivered == len(messages), producer.delivered
    return producer.delivered


def produce_run(
    settings: Settings, source: Source, rate: float = 0.0, labels: bool = True
) -> Counts:
    schedule = LabelSchedule(settings.simulator.label_delay_days) if labels else None
    options = RunOptions(topic=settings.topics.transactions, rate=rate)
    counts = ProduceRun(settings, options, labels=schedule).run(source)
    assert counts.delivered == counts.sent, counts
    assert counts.invalid == 0, counts
    return counts


def one_run(
    settings: Settings, params: SimParams, seed: int, rows: int, files: dict[str, Path], swap: bool
) -> dict[str, dict[str, float]]:
    sim = Simulator(params, seed=seed)
    _ = sim.population  # drawn before timing: a long-running producer draws it once
    messages = [
        (item.key, item.value) for item in simulated_items(sim, rows) if isinstance(item, Outgoing)
    ]

    def simulator() -> int:
        return produce_run(fresh(settings), Source("sim", simulated_items(sim, rows))).sent

    def replay(kind: str) -> Callable[[], int]:
        def run() -> int:
            target = fresh(settings)
            source = Source(kind, replayed_items(str(files[kind]), target))
            return produce_run(target, source).sent

        return run

    loops: dict[str, Callable[[], int]] = {
        "kafka": lambda: kafka_alone(fresh(settings), messages),
        "simulator": simulator,
        "csv": replay("csv"),
        "parquet": replay("parquet"),
    }
    order = list(reversed(LOOPS)) if swap else list(LOOPS)
    return {name: timed(loops[name]) for name in order}


def paced(settings: Settings, params: SimParams, rate: float, seconds: float) -> dict[str, float]:
    """The simulator at ``rate``: how many it sent in ``seconds`` against how many were asked."""
    rows = int(rate * seconds)
    sim = Simulator(params, seed=7)
    _ = sim.population
    counts = produce_run(fresh(settings), Source("sim", simulated_items(sim, rows)), rate=rate)
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(counts.sent / counts.seconds),
        "ratio": round(counts.sent / counts.seconds / rate, 3),
        "seconds": round(counts.seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--bootstrap", help="measure this broker instead of starting one")
    args = parser.parse_args()
    params = SimParams()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="producer-bench-") as folder:
        files = {"csv": Path(folder) / "rows.csv", "parquet": Path(folder) / "rows.parquet"}
        for path in files.values():
            Simulator(params, seed=args.seed).write(path, args.rows, index_column=True)
        runs: list[dict[str, dict[str, float]]] = []
        with broker(args.bootstrap) as (bootstrap, _data):
            settings = Settings(kafka_bootstrap_servers=bootstrap)
            warm = min(args.rows, 20_000)
            produce_run(fresh(settings), Source("warm-up", simulated_items(Simulator(), warm)))
            for run in range(1, args.repeat + 1):
                result = one_run(settings, params, args.seed, args.rows, files, run % 2 == 0)
                runs.append(result)
                print(
                    f"run {run}: "
                    + ", ".join(f"{k} {result[k]['messages_per_s']:,}/s" for k in LOOPS),
                    flush=True,
                )
            pace = paced(settings, params, args.rate, args.paced_seconds)
            print(f"paced at {args.rate:,.0f}/s: achieved {pace['achieved_per_s']:,}/s", flush=True)
    median = {
        loop: {
            k: statistics.median(r[loop][k] for r in runs)
            for k in ("messages_per_s", "client_cpu_us_per_message")
        }
        for loop in LOOPS
    }
    ratios = {
        loop: round(
            statistics.median(
                r[loop]["messages_per_s"] / r["kafka"]["messages_per_s"] for r in runs
            ),
            3,
        )
        for loop in LOOPS
        if loop != "kafka"
    }
    path = write_result(
        "producer",
        {
            "command": "bench/producer.py "
            + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None
            ),
            "rows": args.rows,
            "customers": params.customers,
            "median": median,
            "ratio_to_kafka_alone": ratios,
            "paced": pace,
            "runs": runs,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "versions": versions("confluent-kafka", "pandas", "pyarrow", "msgspec", "orjson"),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
