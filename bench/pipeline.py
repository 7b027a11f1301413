"""End-to-end pipeline benchmark: producer to verdict stored, every component on this machine.

All real and all local: a Kafka broker and a PostgreSQL from the project's launchers, a model
registered in an MLflow store, ``fraudstream serve``, and ``fraudstream stream`` workers as
processes. Measured in one run:

1. **sustained throughput**: the workers joined and warm, ``--messages`` transactions at once;
   the rate is rows stored per second between the first and the last row. Twice: clean, and
   with ``--poison`` (0.1 %) of them poison, half refused at decode (``unix_time`` beyond int64)
   and half refused by PostgreSQL (a check constraint on one merchant), which takes the
   isolation path (probe, halving, retries alone, dead letter): the ratio is its cost;
   Each process's CPU per transaction (broker, PostgreSQL with its backends, the model service,
   each worker, the producer) is read from /proc: the budget that decides what to cut;
2. **Faust's own ceiling**: the same number of workers running an agent that only iterates over
   the same topic (``noack_take`` + ack, as the stream does), timed the same way beside a live
   producer, and again on a topic filled beforehand; each twice, with Faust configured as the
   stream runs it (uvloop, the draining fetch loop, no Monitor) and with Faust's defaults; and a
   plain aiokafka ``getmany`` loop (the client under Faust) on a filled topic, the raw ceiling;
   ``--compare-drain`` also measures the sustained pipeline with Faust's own fetch loop;
3. **a naive consumer**: one confluent-kafka consumer that posts each transaction to the model
   service on its own and inserts its verdict on its own;
4. **latency at offered rates**: for each rate, new workers run at it for 5 s, then a producer
   paced at it for ``--seconds`` is timed; the percentiles of (stored_at - produced_at) of those
   rows, read from PostgreSQL, of produced to visible on the verdicts topic for a
   ``read_committed`` consumer (what a downstream reader waits for), and of produced to readable
   on the transactions topic for a consumer beside the workers (what lies before the pipeline);
   each process's share of a core while the producer is paced (the load's CPU budget), the CPU
   the hypervisor took meanwhile, and the pauses of the workers' and the service's garbage
   collectors. With several ``--batch-seconds``, ``--freeze-heap true,false``,
   ``--latency-workers 1,2`` or ``--worker-code`` (the workers of another commit against this
   one's), each rate is measured with each rule in turn. Run alone (``--parts
   latency``), a first point is measured and thrown away: it meets a broker whose JIT is still
   compiling (half its CPU in the first minute was the C2 compiler thread);
5. **where the time goes**: the stream's per-stage wall-time counters, scraped from the workers.

Every process is checked alive at the end and doing its share (each ceiling worker counted
messages, each stream worker scored some), or the benchmark fails.

Usage: ``.venv/bin/python bench/pipeline.py [--messages 150000] [--workers 2]
[--rates 1000,2000,5000] [--seconds 20] [--poison 0.001]``; writes
``bench/results/pipeline.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from _common import RESULTS, versions, write_result
from _stack import Process, registered_model, start_service
from fraudstream import heap
from fraudstream.config import Settings
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.kafka.consumer import Consumer
from fraudstream.kafka.producer import Producer
from fraudstream.local.components import settings_env
from fraudstream.local.kafka import kafka_spec
from fraudstream.local.postgres import postgres_spec
from fraudstream.local.process import ManagedProcess, free_port
from fraudstream.simulator import SimParams, Simulator
from fraudstream.storage.migrate import migrate_sync

STAGES = (
    "decode",
    "lookup",
    "replay",
    "card_state",
    "features",
    "service",
    "verdicts",
    "store",
    "dead_letters",
    "probe",
    "publish",
)


def fresh_topics(settings: Settings) -> Settings:
    """Settings with topics and a Faust app id of their own (one measurement each)."""
    suffix = uuid.uuid4().hex[:8]
    topics = settings.replace(
        topic_transactions=f"transactions-{suffix}",
        topic_verdicts=f"verdicts-{suffix}",
        topic_dlq=f"dlq-{suffix}",
        topic_labels=f"labels-{suffix}",
        topic_model_events=f"model-events-{suffix}",
        stream_app_id=f"bench-{suffix}",
    )
    ensure_topics(topics.kafka, topic_specs(topics.topics))
    return topics


def messages(n: int, seed: int, poison: float = 0.0) -> list[tuple[bytes, bytes]]:
    """``n`` simulated transactions; with ``poison`` > 0, that share of them (evenly spread)
    is poison, alternately refused at decode and by PostgreSQL (:data:`POISON_MERCHANT`)."""
    records = list(Simulator(SimParams(customers=2000), seed=seed).records(n, with_label=False))
    every = round(1 / poison) if poison else 0
    for k, i in enumerate(range(every // 2, n, every) if every else ()):
        if k % 2:
            records[i] = {**records[i], "merchant": POISON_MERCHANT}
        else:
            records[i] = {**records[i], "unix_time": 10**19}
    return [(str(r["cc_num"]).encode(), orjson.dumps(r)) for r in records]


POISON_MERCHANT = "fraud_bench_poison"
_REFUSE_POISON = f"""
ALTER TABLE scored_transactions ADD CONSTRAINT bench_poison
CHECK (merchant <> '{POISON_MERCHANT}') NOT VALID
"""
"""A row PostgreSQL refuses although every stage before accepted it: the stream can only find
it by isolating it (``NOT VALID``: rows already stored are not checked)."""


def poison_count(n: int, poison: float) -> int:
    every = round(1 / poison) if poison else 0
    return len(range(every // 2, n, every)) if every else 0


def produce(
    settings: Settings,
    batch: list[tuple[bytes, bytes]],
    rate: float = 0,
    producer: Producer | None = None,
) -> float:
    """Send ``batch``, paced at ``rate`` per second (0: as fast as possible), through
    ``producer`` or a new one; returns seconds, until the broker has confirmed the last."""
    if producer is None:
        with Producer(settings.kafka) as fresh:
            return produce(settings, batch, rate, fresh)
    started = time.perf_counter()
    for i, (key, value) in enumerate(batch):
        producer.produce(settings.topics.transactions, value, key)
        if rate and i % 50 == 0:
            ahead = started + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
    producer.flush()
    return time.perf_counter() - started


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE scored_transactions, card_state, dead_letters")


def dead_letters(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    return int(row[0]) if row else 0


def stored_span(url: str) -> tuple[int, float]:
    """(rows, seconds between the first and the last stored row)."""
    with psycopg.connect(url) as conn:
        n, first, last = conn.execute(
            "SELECT count(*), min(stored_at), max(stored_at) FROM scored_transactions"
        ).fetchone()  # type: ignore[misc]
    return int(n), (last - first).total_seconds() if n else 0.0


def wait_stored(url: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while stored_span(url)[0] < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {stored_span(url)[0]} of {n} stored in {timeout:.0f} s")
        time.sleep(0.5)


def workers(
    settings: Settings, n: int, folder: Path, tag: str, code: str | None = None
) -> list[tuple[Process, int]]:
    """``n`` stream workers; with ``code``, a ``src`` folder (of a git worktree at another
    commit, say) first on their import path: the rest of the stack stays this checkout's."""
    started = []
    env = {"PYTHONPATH": code} if code else {}
    for i in range(n):
        port = free_port()
        proc = Process.fraudstream(
            settings,
            folder / f"{tag}-worker-{i}.log",
            "stream",
            "--web-port",
            "0",
            "--metrics-port",
            str(port),
            **env,
        )
        started.append((proc, port))
    return started


def metric_samples(port: int | str, prefix: str = "fraudstream_stream_") -> list[Sample]:
    """The samples a worker's /metrics (its port) or the service's (its URL) exposes under
    ``prefix``, parsed by prometheus_client."""
    base = port if isinstance(port, str) else f"http://127.0.0.1:{port}"
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(prefix)
    ]


def scored_by(port: int) -> float:
    """The worker's ``fraudstream_stream_scored_total``."""
    found = metric_samples(port, "fraudstream_stream_scored_total")
    return sum(sample.value for sample in found)


def retries(ports: list[int]) -> float:
    """Attempts the workers retried (``fraudstream_stream_retries_total``, summed): each one a
    backoff that a latency point would time as the pipeline's (0 expected)."""
    return sum(
        sample.value
        for port in ports
        for sample in metric_samples(port, "fraudstream_stream_retries_total")
    )


SLOW_ATTEMPT_SECONDS = 0.2
"""The latency points' workers log every attempt longer than this, or whose batch waited
longer, with the time of each step (``FRAUD_STREAM_SLOW_ATTEMPT_SECONDS``)."""


CLOCK = re.compile(r"\d\d:\d\d:\d\d[,.]\d{3}")


def log_sizes(procs: list[tuple[Process, int]]) -> list[int]:
    return [proc.log.stat().st_size if proc.log.exists() else 0 for proc, _ in procs]


def slow_attempts(procs: list[tuple[Process, int]], since: list[int]) -> list[str]:
    """The workers' slow-attempt lines written after ``since`` (each log's size then)."""
    found = []
    for i, ((proc, _), offset) in enumerate(zip(procs, since, strict=True)):
        with proc.log.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
        found += [
            f"worker-{i} {clock.group() if (clock := CLOCK.search(line)) else '?'} {slow}"
            for line in lines
            if (slow := line.partition("slow attempt: ")[2])
        ]
    return found


def check_workers(procs: list[tuple[Process, int]], what: str) -> None:
    """Every worker alive and each one scored some of the load: a worker that died or never
    got a partition would make the figure one worker's."""
    for i, (proc, port) in enumerate(procs):
        if proc.proc.poll() is not None:
            raise RuntimeError(
                f"{what}: worker {i} exited ({proc.proc.returncode}); see {proc.log}"
            )
        if scored_by(port) <= 0:
            raise RuntimeError(f"{what}: worker {i} scored nothing; see {proc.log}")


def stage_seconds(ports: list[int]) -> dict[str, float]:
    """Per-stage wall time summed over the workers, and the attempts' mean batch size."""
    totals = dict.fromkeys(STAGES, 0.0)
    attempts = items = 0.0
    for port in ports:
        for sample in metric_samples(port):
            if sample.name == "fraudstream_stream_stage_seconds_total":
                stage = sample.labels["stage"]
                totals[stage] = totals.get(stage, 0.0) + sample.value
            elif sample.name == "fraudstream_stream_raced_deliveries_total":
                totals["raced_deliveries"] = totals.get("raced_deliveries", 0.0) + sample.value
            elif sample.name == "fraudstream_stream_batch_size_count":
                attempts += sample.value
            elif sample.name == "fraudstream_stream_batch_size_sum":
                items += sample.value
    totals["attempts"] = attempts
    totals["mean_batch"] = items / attempts if attempts else 0.0
    return totals


GcTotals = dict[str, tuple[float, float, float]]
"""Generation -> (collections, seconds in them, collections of at most 10 ms)."""


def gc_totals(targets: list[int] | list[str] | None) -> GcTotals:
    """The cyclic garbage collector's pauses so far in these processes (workers' metrics ports,
    or the service's URL; None: this one, the producer and the reader), by generation, summed
    over them."""
    found: dict[str, list[float]] = {}
    for samples in (
        [[s for metric in heap.GC_PAUSE.collect() for s in metric.samples]]
        if targets is None
        else [metric_samples(target, "fraudstream_gc_pause_seconds") for target in targets]
    ):
        for sample in samples:
            figures = found.setdefault(sample.labels["generation"], [0.0, 0.0, 0.0])
            if sample.name.endswith("_count"):
                figures[0] += sample.value
            elif sample.name.endswith("_sum"):
                figures[1] += sample.value
            elif sample.name.endswith("_bucket") and float(sample.labels["le"]) == 0.01:
                figures[2] += sample.value  # cumulative: every pause of at most 10 ms
    return {generation: (f[0], f[1], f[2]) for generation, f in sorted(found.items())}


def gc_pauses(before: GcTotals, after: GcTotals) -> dict[str, dict[str, float]]:
    """The pauses between two readings (the paced load, not the start, whose imports and
    model load trigger full collections of everything): how many, their mean, how many
    stood the event loop still for more than 10 ms."""
    pauses = {}
    for generation, (count, seconds, short) in after.items():
        was = before.get(generation, (0.0, 0.0, 0.0))
        n = count - was[0]
        pauses[generation] = {
            "pauses": n,
            "mean_ms": (seconds - was[1]) / n * 1000 if n else 0.0,
            "over_10_ms": n - (short - was[2]),
        }
    return pauses


def buckets(ports: list[int], histogram: str) -> dict[str, float]:
    """A worker histogram's cumulative bucket counts (upper bound -> observations at most it),
    summed over the workers, in ascending bounds."""
    cumulative: dict[str, float] = {}
    for port in ports:
        for sample in metric_samples(port, f"{histogram}_bucket"):
            bound = sample.labels["le"]
            cumulative[bound] = cumulative.get(bound, 0.0) + sample.value
    return cumulative


def batch_sizes(ports: list[int]) -> dict[str, float]:
    """How many attempts had a batch of at most each bucket's size (not cumulative), summed over
    the workers: the batch-size distribution that a load produced."""
    counts, below = {}, 0.0
    for bound, total in buckets(ports, "fraudstream_stream_batch_size").items():
        counts[bound] = total - below
        below = total
    return counts


ATTEMPT_HISTOGRAMS = {
    "attempt": "fraudstream_stream_attempt_seconds",
    "batch_age": "fraudstream_stream_batch_age_seconds",
}
"""Per attempt: its wall time, and its oldest transaction's age when it started."""


def attempt_waits(ports: list[int]) -> dict[str, dict[str, float]]:
    return {name: buckets(ports, metric) for name, metric in ATTEMPT_HISTOGRAMS.items()}


def over(before: dict[str, float], after: dict[str, float], bound: str) -> dict[str, float]:
    """Of the observations between two readings of a histogram: how many, and the share above
    ``bound`` (one of its bucket bounds)."""
    n = after["+Inf"] - before.get("+Inf", 0.0)
    above = n - (after[bound] - before.get(bound, 0.0))
    return {"observations": n, f"share_over_{bound}_s": above / n if n else 0.0}


WARM_SECONDS = 3
"""The first seconds of a paced run (cold caches, first requests), left out of the steady
percentiles; the whole-run percentiles keep them."""
QUANTILES = (0.5, 0.95, 0.99)
WARM_UP_SECONDS = 30.0
"""The paced load thrown away before the latency points when the run has no sustained part to
warm the broker's JIT up."""
STABLE_SECONDS = 5.0
"""How long the group must keep its assignment before a measurement starts."""
SETTLE_SECONDS = 12.0
"""Time for every Faust ceiling worker to join the group before the timed load arrives (the
stream's workers are waited for by their assignment instead: :func:`wait_balanced`)."""


def assignments(ports: list[int]) -> list[tuple[float, float]]:
    """Each worker's (partitions of the transactions topic owned, assignments taken so far); a
    worker whose metrics do not answer yet (still starting) counts as (0, 0)."""
    found = []
    for port in ports:
        owned = taken = 0.0
        with contextlib.suppress(httpx.HTTPError):
            for sample in metric_samples(port):
                if sample.name == "fraudstream_stream_partitions":
                    owned = sample.value
                elif sample.name == "fraudstream_stream_assignments_total":
                    taken = sample.value
        found.append((owned, taken))
    return found


def wait_balanced(run: Settings, ports: list[int], timeout: float = 180.0) -> None:
    """Until every worker owns partitions, together all of them, and no assignment came for
    :data:`STABLE_SECONDS`: a rebalance in the middle of a measurement would be timed as a pause
    of the pipeline (workers starting on a busy machine took longer than a fixed sleep)."""
    deadline = time.monotonic() + timeout
    last, since = assignments(ports), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = assignments(ports)
        if now != last:
            last, since = now, time.monotonic()
            continue
        owned = [p for p, _ in now]
        balanced = all(owned) and sum(owned) == run.topics.transactions_partitions
        if balanced and time.monotonic() - since >= STABLE_SECONDS:
            return
    raise RuntimeError(f"the group did not settle within {timeout:.0f} s: {last}")


def forget_rows(url: str) -> None:
    """Delete the stored verdicts and dead letters, and keep the card states: the workers cache
    the states they stored, and a card whose row vanished behind their back is a version
    conflict, an attempt retried after a backoff."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE scored_transactions, dead_letters")


WARM_UP_MESSAGES = 100
WORKER_WARM_UP_SECONDS = 5.0
"""How long a latency point's new workers run at its rate before the load is timed: their first
transactions, a new producer's to each partition, are several times slower (170-260 ms, the
Kafka transaction, in the first attempt after 100 warm-up messages)."""


def settle(
    run: Settings,
    url: str,
    ports: list[int],
    producer: Producer | None = None,
    forget: bool = True,
    n: int = WARM_UP_MESSAGES,
    rate: float = 0,
) -> None:
    """Let every worker (its metrics ``ports``) join the group until it is balanced and stable,
    then push a warm-up of ``n`` messages (paced at ``rate``, 0: at once) through the whole path
    (connections open, first requests served) and, with ``forget``, delete its rows."""
    wait_balanced(run, ports)
    produce(run, messages(n, seed=9), rate, producer)
    wait_stored(url, n, timeout=120)
    if forget:
        forget_rows(url)


def sustained(
    settings: Settings,
    url: str,
    n: int,
    n_workers: int,
    folder: Path,
    poison: float = 0.0,
    pids: dict[str, int] | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Workers joined and warm, then ``n`` transactions at once (``poison`` of them poison):
    rows stored per second between the first and the last of them, and the CPU each process
    (``pids``, the workers, this one producing) spent per transaction. With ``profile``, py-spy
    samples worker 0 and the model service while the load runs (flame graphs and stacks there)."""
    run = fresh_topics(settings)
    reset(url)
    poisoned = poison_count(n, poison)
    tag = "poisoned" if poisoned else "sustained"
    procs = workers(run, n_workers, folder, tag)
    try:
        settle(run, url, [port for _, port in procs])
        before = stage_seconds([port for _, port in procs])
        load = messages(n, seed=1, poison=poison)
        everyone = {**(pids or {}), **{f"worker-{i}": p.proc.pid for i, (p, _) in enumerate(procs)}}
        cpu_before, producing = cpu_seconds(everyone), psutil.Process().cpu_times()
        samplers = (
            profiles(profile, {"worker": everyone["worker-0"], **_service(pids)}) if profile else []
        )
        produce(run, load)
        produced = psutil.Process().cpu_times()
        wait_stored(url, n - poisoned, timeout=n / 500 + 300)
        for sampler in samplers:
            sampler.wait(120)
        deadline = time.monotonic() + 120
        while dead_letters(url) < poisoned:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{dead_letters(url)} of {poisoned} poison dead-lettered")
            time.sleep(0.5)
        rows, span = stored_span(url)
        cpu_after = cpu_seconds(everyone)
        after = stage_seconds([port for _, port in procs])
        check_workers(procs, tag)
    finally:
        for proc, _ in procs:
            proc.stop()
    stages = {k: after[k] - before.get(k, 0.0) for k in after if k != "mean_batch"}
    stages["mean_batch"] = n / stages["attempts"] if stages.get("attempts") else 0.0
    cpu = {name: (cpu_after[name] - cpu_before[name]) / rows * 1e6 for name in everyone}
    cpu["producer"] = (
        (produced.user + produced.system - producing.user - producing.system) / n * 1e6
    )
    return {
        "cpu_us_per_transaction": cpu,
        "cpu_us_per_transaction_total": sum(cpu.values()),
        "rows": rows,
        "poison": poisoned,
        "dead_letters": dead_letters(url),
        "seconds": span,
        "per_s": rows / span,
        "stage_seconds": stages,
    }


def compare_drain(
    settings: Settings,
    url: str,
    args: argparse.Namespace,
    folder: Path,
    pids: dict[str, int],
    first: dict[str, Any],
) -> dict[str, Any]:
    """The sustained run with Faust's own fetch loop against the draining one, alternated over
    ``args.rounds`` rounds after ``first`` (a draining run): this machine's speed drifts by a
    third between runs minutes apart, so one pair proves little."""
    runs: dict[str, list[dict[str, Any]]] = {"draining": [first], "faust": []}
    for r in range(2 * args.rounds - 1):
        loop = "faust" if r % 2 == 0 else "draining"
        print(f"sustained throughput, {loop} fetch loop (round {r // 2 + 1})...", flush=True)
        run = sustained(
            settings.replace(stream_fast_drain=loop == "draining"),
            url,
            args.messages,
            args.workers,
            folder,
            pids=pids,
        )
        runs[loop].append(run)
        print(
            f"  {run['per_s']:,.0f} tx/s, {run['cpu_us_per_transaction_total']:.0f} µs", flush=True
        )
    summary = {
        loop: {
            "per_s": [r["per_s"] for r in done],
            "cpu_us_per_transaction_total": [r["cpu_us_per_transaction_total"] for r in done],
            "worker_cpu_us_per_transaction": [
                sum(v for k, v in r["cpu_us_per_transaction"].items() if k.startswith("worker"))
                for r in done
            ],
            "raced_deliveries": [r["stage_seconds"].get("raced_deliveries", 0.0) for r in done],
        }
        for loop, done in runs.items()
    }
    medians = {loop: statistics.median(v["per_s"]) for loop, v in summary.items()}
    return {**summary, "median_per_s": medians, "ratio": medians["draining"] / medians["faust"]}


CEILINGS = (
    (False, "_defaults", "Faust's defaults (asyncio, its fetch loop, Monitor)"),
    (True, "", "Faust as the stream runs it (uvloop, draining loop, no Monitor)"),
)
"""The two Faust ceilings: (stream's configuration?, result-key suffix, what it is)."""
ALL_PARTS = frozenset({"sustained", "poisoned", "ceilings", "naive", "latency"})
PROFILE_SECONDS = 15
"""How long py-spy samples: the load of a sustained run lasts about 20 s."""


def _service(pids: dict[str, int] | None) -> dict[str, int]:
    return {"service": pids["model-service"]} if pids and "model-service" in pids else {}


def profiles(folder: Path, targets: dict[str, int]) -> list[subprocess.Popen[bytes]]:
    """py-spy on each process for ``PROFILE_SECONDS``, without pausing it (``--nonblocking``):
    a flame graph (``profile-<name>.svg``) and the collapsed stacks (``profile-<name>.txt``)."""
    samplers = []
    for name, pid in targets.items():
        for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
            out = folder / f"profile-{name}.{suffix}"
            argv = [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking"]
            argv += ["--pid", str(pid), "--duration", str(PROFILE_SECONDS), "--rate", "100"]
            argv += ["--format", fmt, "--output", str(out)]
            samplers.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
    return samplers


def hottest(stacks: Path, top: int = 15) -> list[tuple[str, float]]:
    """The functions with the most samples of their own (the leaf of a stack), as shares."""
    own: dict[str, int] = {}
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        leaf = frames.rsplit(";", 1)[-1]
        own[leaf] = own.get(leaf, 0) + int(count)
        total += int(count)
    ranked = sorted(own.items(), key=lambda item: -item[1])[:top]
    return [(frame, samples / total) for frame, samples in ranked]


def _ceiling_workers(
    run: Settings, n_workers: int, folder: Path, tag: str, stream_faust: bool
) -> list[Process]:
    """The iterating workers, each with its share of the partitions when this returns (a
    worker that joins late would leave the other to read alone, then force a rebalance)."""
    for stale in [
        folder / f"{tag}.go",
        *folder.glob(f"{tag}-*.assigned"),
        *folder.glob(f"{tag}-*.count"),
    ]:
        stale.unlink(missing_ok=True)  # an earlier variant's
    procs = []
    for i in range(n_workers):
        env = {
            "CEILING_GO_FILE": str(folder / f"{tag}.go"),
            "CEILING_APP_ID": run.stream.app_id,
            "CEILING_BROKER": run.kafka.bootstrap_servers,
            "CEILING_DATADIR": str(folder / f"{tag}-data-{i}"),
            "CEILING_TOPIC": run.topics.transactions,
            "CEILING_COUNT_FILE": str(folder / f"{tag}-{i}.count"),
        }
        if stream_faust:  # the stream's own configuration, read from its variables
            home = run.replace(home=folder / f"{tag}-data-{i}")
            env |= {
                **settings_env(home),
                "CEILING_STREAM_FAUST": "1",
                "FAUST_LOOP": run.stream.loop,
            }
        argv = [
            sys.executable,
            str(Path(__file__).with_name("_faust_ceiling.py")),
            "worker",
            "--without-web",  # the CLI's default --with-web overrides web_enabled=False
            "--loglevel",
            "warn",
        ]
        procs.append(Process(argv, folder / f"{tag}-{i}.log", env))
    try:
        _wait_shared(procs, [folder / f"{tag}-{i}.assigned" for i in range(n_workers)], run)
    except BaseException:
        for proc in procs:
            proc.stop()
        raise
    (folder / f"{tag}.go").touch()  # all joined: start reading
    return procs


def _wait_shared(procs: list[Process], files: list[Path], run: Settings) -> None:
    deadline = time.monotonic() + 120
    while True:
        shares = _numbers(files)
        if min(shares) > 0 and sum(shares) == run.topics.transactions_partitions:
            return
        for i, proc in enumerate(procs):
            if proc.proc.poll() is not None:
                raise RuntimeError(f"ceiling worker {i} exited; see {proc.log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the ceiling workers never shared the partitions: {shares}")
        time.sleep(0.05)


def _counts(folder: Path, tag: str, n_workers: int) -> list[int]:
    return _numbers([folder / f"{tag}-{i}.count" for i in range(n_workers)])


def _numbers(files: list[Path]) -> list[int]:
    """The number each ceiling worker last wrote to its file (0 before it wrote one)."""
    return [int(f.read_text() or 0) if f.exists() else 0 for f in files]


def _check_ceiling(procs: list[Process], shares: list[int]) -> None:
    for i, proc in enumerate(procs):
        if proc.proc.poll() is not None:
            raise RuntimeError(f"ceiling worker {i} exited; see {proc.log}")
        if shares[i] <= 0:
            assigned = proc.log.with_suffix(".assigned")
            held = assigned.read_text() if assigned.exists() else "none"
            log = proc.log.read_text()[-2000:]
            raise RuntimeError(f"ceiling worker {i} saw nothing (partitions: {held}):\n{log}")


def faust_ceiling(
    settings: Settings, n: int, n_workers: int, folder: Path, *, stream_faust: bool
) -> dict[str, Any]:
    """The same workers' shape, doing nothing but iterate, beside a live producer: messages
    seen per second between the first and the last of the ``n``. ``stream_faust``: Faust as
    the stream configures it; otherwise Faust's defaults."""
    run = fresh_topics(settings)
    procs = _ceiling_workers(run, n_workers, folder, "ceiling", stream_faust)

    def seen() -> int:
        return sum(_counts(folder, "ceiling", n_workers))

    try:
        time.sleep(SETTLE_SECONDS)
        produce(run, messages(100, seed=9))
        deadline = time.monotonic() + 120
        while seen() < 100:
            if time.monotonic() > deadline:
                raise RuntimeError("the ceiling workers never consumed the warm-up")
            time.sleep(0.05)
        base = seen()
        produce_at = time.monotonic()
        batch = messages(n, seed=2)
        sender = threading.Thread(target=produce, args=(run, batch))
        sender.start()
        while seen() == base:
            if time.monotonic() - produce_at > 120:
                raise RuntimeError("the ceiling workers never started on the load")
            time.sleep(0.01)
        started = time.monotonic()
        while seen() < base + n:
            if time.monotonic() - started > n / 500 + 120:
                raise RuntimeError(f"ceiling workers saw {seen() - base} of {n}")
            time.sleep(0.01)
        took = time.monotonic() - started
        sender.join()
        time.sleep(1.0)  # each worker's last count
        shares = _counts(folder, "ceiling", n_workers)
        _check_ceiling(procs, shares)
    finally:
        for proc in procs:
            proc.stop()
    return {"messages": n, "seconds": took, "per_s": n / took, "per_worker": shares}


PREFILL_TIMES = 3
"""The prefilled topic holds the ``n`` messages this many times over: a fast Faust reads 150,000
in about three seconds, too short a window for counts written every half second."""


def faust_ceiling_prefilled(
    settings: Settings, n: int, n_workers: int, folder: Path, *, stream_faust: bool
) -> dict[str, Any]:
    """The same iterating workers on a topic filled beforehand (no producer beside them), at
    their steady rate: all joined before any reads, timed from when every worker has seen
    messages until 90 % of what was left had been seen; each must have read in that window."""
    run = fresh_topics(settings)
    batch = messages(n, seed=2)
    for _ in range(PREFILL_TIMES):
        produce(run, batch)
    total = n * PREFILL_TIMES
    procs = _ceiling_workers(run, n_workers, folder, "prefilled", stream_faust)

    def counts() -> list[int]:
        return _counts(folder, "prefilled", n_workers)

    try:
        deadline = time.monotonic() + 120
        while min(counts()) == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the prefilled ceiling workers never all consumed")
            time.sleep(0.01)
        first, started = counts(), time.monotonic()
        samples, changed = [(started, sum(first))], started
        while time.monotonic() - changed < 1.5:  # until nothing new for 1.5 s: drained
            if time.monotonic() - started > total / 500 + 120:
                raise RuntimeError("the prefilled ceiling workers never finished")
            time.sleep(0.05)
            now, seen_now = time.monotonic(), sum(counts())
            if seen_now != samples[-1][1]:
                samples.append((now, seen_now))
                changed = now
        end_at = sum(first) + 0.9 * (samples[-1][1] - sum(first))
        t90, c90 = next((t, c) for t, c in samples if c >= end_at)
        shares = counts()
        _check_ceiling(procs, shares)
        if any(later <= earlier for later, earlier in zip(shares, first, strict=True)):
            raise RuntimeError(f"a worker read nothing in the steady window: {first} -> {shares}")
    finally:
        for proc in procs:
            proc.stop()
    seen = c90 - sum(first)
    return {
        "messages": seen,
        "seconds": t90 - started,
        "per_s": seen / (t90 - started),
        "topic_messages": total,
        "per_worker": shares,
    }


def raw_ceiling(settings: Settings, n: int) -> dict[str, Any]:
    """A plain aiokafka ``getmany`` loop (the client under Faust), one consumer, on a topic
    filled beforehand: what reading alone costs, from the first batch to the last."""
    from aiokafka import AIOKafkaConsumer

    run = fresh_topics(settings)
    produce(run, messages(n, seed=2))

    async def read() -> tuple[int, float]:
        consumer = AIOKafkaConsumer(
            run.topics.transactions,
            bootstrap_servers=run.kafka.bootstrap_servers,
            group_id=f"raw-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        seen, started = 0, 0.0
        try:
            while seen < n:
                batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                if batches and not started:
                    started = time.perf_counter()
                seen += sum(len(records) for records in batches.values())
        finally:
            await consumer.stop()
        return seen, time.perf_counter() - started

    seen, took = asyncio.run(read())
    return {"messages": seen, "seconds": took, "per_s": seen / took}


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU each process has used so far, its children included (PostgreSQL's
    backends; those already gone are in the parent's children times)."""
    used: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            root = psutil.Process(pid)
            times = root.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child_times = child.cpu_times()
                    total += child_times.user + child_times.system
        except psutil.NoSuchProcess:
            total = 0.0
        used[name] = total
    return used


JVM_THREADS = (
    ("jit", ("CompilerThre", "Sweeper")),
    ("gc", ("GC Thread", "G1 ", "GN Conc", "GN Refine", "GN Main", "GN Service", "VM Thread")),
    ("requests", ("data-plane-kafk",)),
)
"""The broker's threads by what they do (their names, cut to 15 characters by Linux): its JIT
compilers, its collector, and the network and request-handler threads that serve clients."""


MAINTAINED = ("scored_transactions", "card_state")
"""The tables the stream writes at every attempt, which autovacuum visits about once a minute
under load."""


def autovacuum_visits(url: str) -> dict[str, int]:
    """Autovacuum's vacuums and analyzes of :data:`MAINTAINED` so far. Its worker's visits of
    the database took 0.3-0.6 s of CPU within 0.5-2 s each, up to 90 % of a core (sampled from
    /proc at 2,000 tx/s), and the attempts of those seconds waited for a core (BENCHMARKS.md)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname, autovacuum_count + autoanalyze_count FROM pg_stat_user_tables"
            " WHERE relname = ANY(%s)",
            (list(MAINTAINED),),
        ).fetchall()
    return {str(name): int(n) for name, n in rows}


def stolen_seconds() -> float:
    """CPU time the hypervisor gave to others while this machine's processes were runnable
    (``steal`` in /proc/stat, all cores): a stall no process here can explain."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def jvm_threads(pid: int | None) -> dict[str, float]:
    """CPU seconds of a JVM's threads so far, grouped by :data:`JVM_THREADS` (the rest:
    "other"): how much of the broker's share is its own warming up and collecting."""
    used: dict[str, float] = {}
    if pid is None:
        return used
    with contextlib.suppress(psutil.NoSuchProcess):
        for thread in psutil.Process(pid).threads():
            try:
                name = Path(f"/proc/{pid}/task/{thread.id}/comm").read_text().strip()
            except OSError:
                continue
            kind = next((k for k, marks in JVM_THREADS if any(m in name for m in marks)), "other")
            used[kind] = used.get(kind, 0.0) + thread.user_time + thread.system_time
    return used


def naive(settings: Settings, url: str, service: str, seconds: float) -> dict[str, Any]:
    """One transaction per request and per INSERT: what the micro-batch design replaces."""
    run = fresh_topics(settings)
    produce(run, messages(20_000, seed=3))
    done = 0
    with (
        Consumer(run.kafka, f"naive-{uuid.uuid4().hex[:6]}") as consumer,
        httpx.Client(base_url=service, timeout=10) as client,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        consumer.subscribe([run.topics.transactions])
        while not consumer.consume(1, timeout=1.0):
            pass  # joined and fetching
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for message in consumer.consume(1, timeout=1.0):
                verdict = client.post(
                    "/predict",
                    content=b"[" + message.value() + b"]",
                    headers={"Content-Type": "application/json"},
                ).json()[0]
                conn.execute(
                    "INSERT INTO card_state (cc_num, state, version) VALUES (%s, %s, 1)"
                    " ON CONFLICT (cc_num) DO UPDATE SET version = card_state.version + 1",
                    (int(message.key()), orjson.dumps(verdict)),
                )
                consumer.commit(message)
                done += 1
        took = time.perf_counter() - started
    return {"messages": done, "seconds": took, "per_s": done / took}


READ_WAIT_SECONDS = 0.005
"""The reader's wait per call: what it adds to a visible figure at most."""


class VerdictReader(threading.Thread):
    """A downstream consumer of the verdicts topic, ``read_committed``: when each verdict
    became visible to it (what a consumer of the results waits for, Kafka transaction
    included)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.seen: dict[str, float] = {}
        self._done = threading.Event()
        self._consumer = Consumer(
            settings.kafka,
            f"bench-reader-{uuid.uuid4().hex[:8]}",
            # a fetch returns within 10 ms when nothing new is committed (librdkafka waits
            # 500 ms by default): the reader's own wait stays out of the figure
            overrides={"isolation.level": "read_committed", "fetch.wait.max.ms": 10},
        )
        self._consumer.subscribe([settings.topics.verdicts])

    def run(self) -> None:
        while not self._done.is_set():
            # consume() returns early only with a full count: a longer wait would be timed as
            # the pipeline's (0.1 s here put 50-100 ms on every visible figure before)
            for message in self._consumer.consume(1000, READ_WAIT_SECONDS):
                now = time.time()
                value = message.value()
                if value:
                    self.seen.setdefault(orjson.loads(value)["trans_num"], now)

    def wait_for(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen) < n and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop(self) -> None:
        self._done.set()
        self.join()
        self._consumer.close()


class ArrivalReader(threading.Thread):
    """A consumer of the transactions topic beside the workers, in a group of its own: when
    each message of the load became readable to any consumer (its Kafka timestamp to its
    arrival here), the part of a latency that lies before the pipeline (the benchmark's
    producer and the broker)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.arrivals: list[tuple[float, float]] = []
        """(produced, arrived) wall-clock seconds, for every message read."""
        self._done = threading.Event()
        self._consumer = Consumer(
            settings.kafka, f"bench-arrivals-{uuid.uuid4().hex[:8]}", auto_offset_reset="latest"
        )
        self._consumer.subscribe([settings.topics.transactions])

    def run(self) -> None:
        while not self._done.is_set():
            for message in self._consumer.consume(1000, READ_WAIT_SECONDS):
                now = time.time()
                _, produced_ms = message.timestamp()
                self.arrivals.append((produced_ms / 1000, now))

    def stop(self) -> None:
        self._done.set()
        self.join()
        self._consumer.close()

    def since(self, started: datetime) -> dict[str, Any]:
        """Produced to readable, in ms, for the messages produced from ``started`` on: quantiles
        and the worst of each second."""
        start = started.timestamp()
        load = sorted(((p, (a - p) * 1000) for p, a in self.arrivals if p >= start))
        if not load:
            return {}
        waits = sorted(ms for _, ms in load)
        worst: dict[int, float] = {}
        for produced, ms in load:
            second = int(produced - start)
            worst[second] = max(worst.get(second, 0.0), ms)
        return {
            **{f"p{round(q * 100)}_ms": waits[int(q * (len(waits) - 1))] for q in QUANTILES},
            "worst_by_second_ms": [round(worst[k]) for k in sorted(worst)],
        }


def visible_ms(url: str, seen: dict[str, float], since: datetime) -> list[float]:
    """Produced to visible on the verdicts topic, in ms, for each row of the load."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "WITH load AS (SELECT * FROM scored_transactions WHERE produced_at >= %(since)s)"
            " SELECT trans_num, extract(epoch FROM produced_at) FROM load",
            {"since": since},
        ).fetchall()
    return sorted((seen[t] - float(p)) * 1000 for t, p in rows if t in seen)


def latency(
    settings: Settings,
    url: str,
    rate: float,
    seconds: float,
    n_workers: int,
    folder: Path,
    pids: dict[str, int] | None = None,
    linger_ms: float | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    run = fresh_topics(settings.replace(stream_slow_attempt_seconds=SLOW_ATTEMPT_SECONDS))
    reset(url)
    procs = workers(run, n_workers, folder, f"rate-{int(rate)}", code)
    reader, arrivals = VerdictReader(run), ArrivalReader(run)
    reader.start()
    arrivals.start()
    # One producer for the warm-up and the load: a new idempotent producer holds its first
    # messages ~0.5 s (producer id, metadata), a start-up cost of the feed, not of the pipeline.
    try:
        feed = None if linger_ms is None else {"linger.ms": linger_ms}
        with Producer(run.kafka, overrides=feed) as producer:
            ports = [port for _, port in procs]
            # the point's workers are new processes: they run at the point's rate for a while
            # first, so that the load meets running workers, not their first second
            warm = int(rate * WORKER_WARM_UP_SECONDS)
            settle(run, url, ports, producer, forget=False, n=warm, rate=rate)
            taken = [n for _, n in assignments(ports)]
            retried = retries(ports)
            waits_before = attempt_waits(ports)
            logged = log_sizes(procs)
            batch = messages(int(rate * seconds), seed=int(rate))
            everyone = {
                **(pids or {}),
                **{f"worker-{i}": p.proc.pid for i, (p, _) in enumerate(procs)},
            }
            gc_before = [gc_totals(ports), gc_totals([settings.service.base_url]), gc_totals(None)]
            broker = (pids or {}).get("broker")
            vacuumed = autovacuum_visits(url)
            cpu_before, started = cpu_seconds(everyone), time.perf_counter()
            threads_before, stolen = jvm_threads(broker), stolen_seconds()
            since = datetime.now(UTC)
            this = psutil.Process()  # the producer and the reader
            mine = sum(this.cpu_times()[:2])
            sent_in = produce(run, batch, rate, producer)
            cpu_after, loaded = cpu_seconds(everyone), time.perf_counter() - started
            threads_after, stolen = jvm_threads(broker), stolen_seconds() - stolen
            mine = sum(this.cpu_times()[:2]) - mine
            vacuumed_after = autovacuum_visits(url)
            gc_after = [gc_totals(ports), gc_totals([settings.service.base_url]), gc_totals(None)]
        rebalances = sum(n for _, n in assignments(ports)) - sum(taken)
        retried = retries(ports) - retried
        waits_after = attempt_waits(ports)
        wait_stored(url, len(batch) + warm, timeout=seconds * 10 + 60)
        reader.wait_for(len(batch) + warm, timeout=30)  # the warm-up's verdicts too
        check_workers(procs, f"rate {rate:,.0f}")
        slow = slow_attempts(procs, logged)
        visible = visible_ms(url, reader.seen, since)
        sizes, attempts = batch_sizes(ports), stage_seconds(ports)
        # the load's rows: produced after it began (the warm-up's stay in the table)
        load = {"since": since, "warm": WARM_SECONDS}
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "WITH load AS (SELECT * FROM scored_transactions WHERE produced_at >= %(since)s)"
                " SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP"
                " (ORDER BY extract(epoch FROM stored_at - produced_at) * 1000),"
                " count(*), extract(epoch FROM max(stored_at) - min(produced_at))"
                " FROM load",
                load,
            ).fetchone()
            steady = conn.execute(
                "WITH load AS (SELECT * FROM scored_transactions WHERE produced_at >= %(since)s)"
                " SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP"
                " (ORDER BY extract(epoch FROM stored_at - produced_at) * 1000)"
                " FROM load WHERE produced_at > (SELECT min(produced_at) FROM load)"
                " + make_interval(secs => %(warm)s)",
                load,
            ).fetchone()
            worst = conn.execute(
                "WITH load AS (SELECT * FROM scored_transactions WHERE produced_at >= %(since)s)"
                " SELECT extract(epoch FROM date_trunc('second', produced_at)),"
                " max(extract(epoch FROM stored_at - produced_at) * 1000)"
                " FROM load GROUP BY 1 ORDER BY 1",
                load,
            ).fetchall()
    finally:
        reader.stop()
        arrivals.stop()
        for proc, _ in procs:
            proc.stop()
    assert row is not None
    if len(visible) < row[1]:
        raise RuntimeError(f"only {len(visible)} of {row[1]} verdicts seen on the topic")
    p50, p95, p99 = row[0]
    v50, v95, v99 = (visible[min(len(visible) - 1, int(q * len(visible)))] for q in QUANTILES)
    start = worst[0][0] if worst else 0
    slow_seconds = [(round(float(t - start)), round(float(ms))) for t, ms in worst if ms > 250]
    return {
        "batch_seconds": run.stream.batch_seconds,
        "freeze_heap": run.freeze_heap,
        "gc_young_threshold": run.gc_young_threshold,
        "workers": n_workers,
        # the workers' source folder (--worker-code); None: this checkout's
        "worker_code": code,
        # the feed's librdkafka linger (None: the project's default)
        "producer_linger_ms": linger_ms,
        # assignments the workers took during the load, summed: a rebalance gives each worker
        # one and pauses scoring (0 expected)
        "rebalances": rebalances,
        # attempts retried after a backoff during the load (0 expected)
        "retries": retried,
        "offered_per_s": rate,
        "sent_per_s": len(batch) / sent_in,
        "achieved_per_s": row[1] / float(row[2]),
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        # produced to visible to a read_committed consumer of the verdicts (Kafka transaction
        # included): what a downstream consumer waits for
        "visible_p50_ms": v50,
        "visible_p95_ms": v95,
        "visible_p99_ms": v99,
        # produced to readable on the transactions topic, for a consumer beside the workers:
        # what lies before the pipeline (the benchmark's producer, the broker)
        "readable": arrivals.since(since),
        "steady_p50_ms": steady[0][0] if steady else None,
        "steady_p95_ms": steady[0][1] if steady else None,
        "steady_p99_ms": steady[0][2] if steady else None,
        "seconds_with_a_latency_over_250_ms": slow_seconds,
        # autovacuum's visits of each table the stream writes, while the producer was paced:
        # each takes a share of a core for about a second
        "autovacuum_visits": {t: n - vacuumed.get(t, 0) for t, n in vacuumed_after.items()},
        "attempts": attempts["attempts"],
        "mean_batch": attempts["mean_batch"],
        # where an attempt's wall time goes (warm-up included): what a transaction that arrives
        # during an attempt waits out before its own
        "stage_ms_per_attempt": {
            k: attempts[k] / attempts["attempts"] * 1000
            for k in STAGES
            if attempts.get("attempts") and attempts.get(k)
        },
        "batch_sizes": sizes,
        # during the load, of every attempt: its wall time, and its batch's age at its start
        # (produced to picked up); long attempts or old batches, where the tail comes from
        "attempts_over_100_ms": {
            name: over(waits_before[name], waits_after[name], "0.1") for name in waits_after
        },
        # the load's slow attempts as the workers logged them, with their steps
        "slow_attempts": slow[:50],
        "attempt_buckets": {
            name: {
                bound: count - waits_before[name].get(bound, 0.0)
                for bound, count in waits_after[name].items()
            }
            for name in waits_after
        },
        # while the producer was paced
        "gc_pauses": {
            "workers": gc_pauses(gc_before[0], gc_after[0]),
            "service": gc_pauses(gc_before[1], gc_after[1]),
            "benchmark": gc_pauses(gc_before[2], gc_after[2]),
        },
        # while the producer was paced: each process's share of one core, the benchmark's own
        # (producer and reader) included; 200 % is the whole machine
        "cpu_percent_of_a_core": {
            **{name: (cpu_after[name] - cpu_before[name]) / loaded * 100 for name in cpu_before},
            "producer+reader": mine / loaded * 100,
        },
        # CPU the hypervisor took from this machine while the producer was paced
        "stolen_percent_of_a_core": stolen / loaded * 100,
        # the broker's share above, by its threads (its JIT still compiling, its collector)
        "broker_threads_percent_of_a_core": {
            kind: (threads_after[kind] - threads_before.get(kind, 0.0)) / loaded * 100
            for kind in threads_after
        },
    }


JIT_QUIET_PERCENT = 10.0
"""The broker counts as warm once its JIT compilers use less than this share of a core during
a warm-up point."""
WARM_UP_POINTS = 4


Rule = tuple[Settings, int, float | None, str | None]
"""A latency point's variant: the settings, the workers, the feed's linger, the workers' code."""


def warm_up(
    rule: Rule,
    url: str,
    rate: float,
    folder: Path,
    pids: dict[str, int],
) -> list[dict[str, Any]]:
    """Paced loads thrown away until the broker's JIT is quiet (at most :data:`WARM_UP_POINTS`):
    a broker just started still compiles (26-30 % of a core during the first point after a 30 s
    warm-up, 4-7 % in the next ones), so a point measured then is partly its JIT's."""
    settings, n, linger, code = rule
    points = []
    for _ in range(WARM_UP_POINTS):
        print(f"warming the broker up at {rate:,.0f} tx/s (discarded)...", flush=True)
        point = latency(settings, url, rate, WARM_UP_SECONDS, n, folder, pids, linger, code)
        points.append(point)
        jit = point["broker_threads_percent_of_a_core"].get("jit", 0.0)
        print(f"  stored p99 {point['p99_ms']:.0f} ms, broker JIT {jit:.0f} % of a core")
        if jit < JIT_QUIET_PERCENT:
            break
    return points


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Each figure over its baseline of the same run, where both were measured."""
    pairs = {
        "pipeline_over_faust_ceiling": ("sustained", "faust_ceiling"),
        "pipeline_over_faust_ceiling_prefilled": ("sustained", "faust_ceiling_prefilled"),
        "faust_prefilled_over_raw": ("faust_ceiling_prefilled", "raw_ceiling"),
        "faust_stream_over_defaults": (
            "faust_ceiling_prefilled",
            "faust_ceiling_prefilled_defaults",
        ),
        "faust_stream_over_defaults_live": ("faust_ceiling", "faust_ceiling_defaults"),
        "pipeline_over_naive": ("sustained", "naive"),
        "poisoned_over_clean": ("poisoned", "sustained"),
        "uvloop_over_asyncio": ("sustained", "sustained_asyncio"),
    }
    return {
        name: results[top]["per_s"] / results[bottom]["per_s"]
        for name, (top, bottom) in pairs.items()
        if top in results and bottom in results
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=150_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rates", default="1000,2000,5000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poison", type=float, default=0.001, help="share of poison messages")
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs) after")
    parser.add_argument(
        "--latency-workers",
        default=None,
        help="workers at the latency points, if not --workers: several (1,2) measure each rate "
        "with each count in turn",
    )
    parser.add_argument(
        "--producer-linger-ms",
        default="",
        help="the feed's librdkafka linger.ms at the latency points (the project's default "
        "unless given); several (5,0) measure each rate with each in turn",
    )
    parser.add_argument(
        "--freeze-heap",
        default="true",
        help="FRAUD_FREEZE_HEAP of the workers at the latency points: true, false, or both "
        "(true,false) to measure each rate with each in turn",
    )
    parser.add_argument(
        "--gc-young-threshold",
        default="",
        help="FRAUD_GC_YOUNG_THRESHOLD of the workers and the latency points: several "
        "(700,10000) measure each rate with each in turn (the project's default unless given)",
    )
    parser.add_argument(
        "--worker-code",
        default="",
        help="the workers' source at the latency points: a src folder put first on their "
        "import path (git worktree add /tmp/before <commit>; /tmp/before/src), empty for this "
        "checkout; several (/tmp/before/src,) measure each rate with each in turn",
    )
    parser.add_argument(
        "--batch-seconds",
        default=None,
        help="FRAUD_STREAM_BATCH_SECONDS of the workers: one value, or several separated by "
        "commas to measure the latency points with each (the first is used elsewhere)",
    )
    parser.add_argument(
        "--loops",
        default="uvloop",
        help="FRAUD_STREAM_LOOP of the workers; several (comma-separated) measure the sustained "
        "throughput with each, the first being the headline",
    )
    parser.add_argument(
        "--compare-drain",
        action="store_true",
        help="measure the sustained throughput again with Faust's own fetch loop "
        "(FRAUD_STREAM_FAST_DRAIN=false) in the same run",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="with --compare-drain: runs of each loop, alternated",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample worker 0 and the model service with py-spy during the sustained run "
        "(bench/results/profile-*.svg and .txt, the hottest functions in the JSON)",
    )
    parser.add_argument(
        "--parts",
        default=",".join(sorted(ALL_PARTS)),
        help="which measurements to run (comma-separated)",
    )
    args = parser.parse_args()

    windows = [float(w) for w in args.batch_seconds.split(",")] if args.batch_seconds else []
    parts = set(args.parts.split(","))
    loops = args.loops.split(",")
    folder = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        base = Settings(_env_file=None, home=folder)
        kafka = ManagedProcess(kafka_spec(base, folder / "kafka", port=free_port()))
        postgres = ManagedProcess(postgres_spec(base, folder / "postgres", port=free_port()))
        with kafka, postgres:
            url = f"postgresql://fraudstream@{postgres.spec.address}/fraudstream"
            print("training and registering a model...", flush=True)
            settings = registered_model(
                folder / "model",
                kafka_bootstrap_servers=kafka.spec.address,
                database_url=url,
                stream_batch_size=2000,
                stream_max_pending=20_000,
                stream_loop=loops[0],
                **({} if not windows else {"stream_batch_seconds": windows[0]}),
            )
            migrate_sync(settings.database)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(_REFUSE_POISON)
            service, service_url = start_service(settings, folder / "service.log")
            settings = settings.replace(model_service_url=service_url)
            # this process paces the producer and stamps what the reader sees: its own
            # collector's pauses (a trained model's objects, mlflow's modules) are not the
            # pipeline's latency
            heap.freeze()
            heap.watch_collector()
            try:
                results: dict[str, Any] = {"workers": args.workers, "parts": sorted(parts)}
                pids = {
                    "broker": kafka.pid or 0,
                    "postgresql": postgres.pid or 0,
                    "model-service": service.proc.pid,
                }
                if "sustained" in parts:
                    print("sustained throughput...", flush=True)
                    results["sustained"] = sustained(
                        settings,
                        url,
                        args.messages,
                        args.workers,
                        folder,
                        pids=pids,
                        profile=RESULTS if args.profile else None,
                    )
                    if args.profile:
                        results["hottest"] = {
                            name: hottest(RESULTS / f"profile-{name}.txt")
                            for name in ("worker", "service")
                        }
                    figures = results["sustained"]
                    print(f"  CPU µs per transaction: {figures['cpu_us_per_transaction']}")
                    print(f"  {figures['per_s']:,.0f} tx/s", flush=True)
                    print(f"  stage seconds: {figures['stage_seconds']}", flush=True)
                    for loop in loops[1:]:
                        print(f"sustained throughput, {loop} loop...", flush=True)
                        other = sustained(
                            settings.replace(stream_loop=loop),
                            url,
                            args.messages,
                            args.workers,
                            folder,
                            pids=pids,
                        )
                        results[f"sustained_{loop}"] = other
                        print(f"  {other['per_s']:,.0f} tx/s", flush=True)
                    if args.compare_drain:
                        results["drain_rounds"] = compare_drain(
                            settings, url, args, folder, pids, results["sustained"]
                        )
                if "poisoned" in parts:
                    print(f"sustained with {args.poison:.1%} poison...", flush=True)
                    results["poisoned"] = sustained(
                        settings, url, args.messages, args.workers, folder, args.poison, pids
                    )
                    print(f"  {results['poisoned']['per_s']:,.0f} tx/s", flush=True)
                if "ceilings" in parts:
                    for stream_faust, suffix, what in CEILINGS:
                        print(f"Faust's own ceiling, {what}...", flush=True)
                        live = faust_ceiling(
                            settings, args.messages, args.workers, folder, stream_faust=stream_faust
                        )
                        results[f"faust_ceiling{suffix}"] = live
                        print(f"  {live['per_s']:,.0f} msg/s", flush=True)
                        print(f"Faust's own ceiling, {what}, on a prefilled topic...", flush=True)
                        filled = faust_ceiling_prefilled(
                            settings, args.messages, args.workers, folder, stream_faust=stream_faust
                        )
                        results[f"faust_ceiling_prefilled{suffix}"] = filled
                        print(f"  {filled['per_s']:,.0f} msg/s", flush=True)
                    print("raw aiokafka getmany, one consumer, prefilled...", flush=True)
                    results["raw_ceiling"] = raw_ceiling(settings, args.messages)
                    print(f"  {results['raw_ceiling']['per_s']:,.0f} msg/s", flush=True)
                if "naive" in parts:
                    print("naive consumer...", flush=True)
                    results["naive"] = naive(settings, url, service_url, args.seconds)
                    print(f"  {results['naive']['per_s']:,.0f} tx/s", flush=True)
                results["latency"] = []
                counts = [int(n) for n in (args.latency_workers or str(args.workers)).split(",")]
                lingers: list[float | None] = [
                    float(ms) for ms in args.producer_linger_ms.split(",") if ms
                ] or [None]
                thresholds = [int(n) for n in args.gc_young_threshold.split(",") if n] or [
                    settings.gc_young_threshold
                ]
                rules = [
                    (
                        settings.replace(
                            stream_batch_seconds=window,
                            freeze_heap=freeze == "true",
                            gc_young_threshold=young,
                        ),
                        n,
                        linger,
                        code or None,
                    )
                    for window in windows or [settings.stream.batch_seconds]
                    for freeze in args.freeze_heap.split(",")
                    for young in thresholds
                    for n in counts
                    for linger in lingers
                    for code in args.worker_code.split(",")
                ]
                rates = [float(r) for r in args.rates.split(",")]
                if "latency" in parts and "sustained" not in parts:
                    results["latency_warm_up"] = warm_up(rules[0], url, rates[0], folder, pids)
                # each rate with each rule in turn: neighbours in time share the machine's mood
                for rate in rates:
                    for paced, n, linger, code in rules if "latency" in parts else []:
                        print(
                            f"latency at {rate:,.0f} tx/s offered, {n} worker(s), batch window "
                            f"{paced.stream.batch_seconds} s, heap frozen: {paced.freeze_heap},"
                            f" young collection every {paced.gc_young_threshold},"
                            f" feed linger {'default' if linger is None else linger} ms,"
                            f" worker code {code or 'this checkout'}...",
                            flush=True,
                        )
                        point = latency(
                            paced, url, rate, args.seconds, n, folder, pids, linger, code
                        )
                        results["latency"].append(point)
                        print(
                            f"  stored p50 {point['p50_ms']:.0f} ms, p99 {point['p99_ms']:.0f} ms;"
                            f" visible p50 {point['visible_p50_ms']:.0f} ms,"
                            f" p99 {point['visible_p99_ms']:.0f} ms; mean batch"
                            f" {point['mean_batch']:.0f}; rebalances during the load"
                            f" {point['rebalances']:.0f}, retries {point['retries']:.0f};"
                            " worst seconds (over 250 ms)"
                            f" {point['seconds_with_a_latency_over_250_ms'][:5]}",
                            flush=True,
                        )
                        print(f"  attempts over 100 ms: {point['attempts_over_100_ms']}")
                        print(f"  autovacuum visits during the load: {point['autovacuum_visits']}")
                        print(f"  produced to readable on the input topic: {point['readable']}")
                        for line in point["slow_attempts"][:8]:
                            print(f"    {line}")
                        print(
                            f"  attempt / batch age buckets: {point['attempt_buckets']}",
                            flush=True,
                        )
                        threads = point["broker_threads_percent_of_a_core"]
                        print(
                            "  broker threads, % of a core: "
                            + ", ".join(f"{k} {v:.0f}" for k, v in threads.items()),
                            flush=True,
                        )
                        cpu = point["cpu_percent_of_a_core"]
                        shares = ", ".join(f"{k} {v:.0f}" for k, v in cpu.items())
                        print(
                            f"  CPU, % of a core: {shares}; all {sum(cpu.values()):.0f};"
                            f" stolen by the hypervisor {point['stolen_percent_of_a_core']:.1f}"
                        )
                        for who, pauses in point["gc_pauses"].items():
                            print(f"  GC pauses, {who}: {pauses}", flush=True)
            finally:
                service.stop()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    results["ratios"] = ratios(results)
    if "drain_rounds" in results:
        results["ratios"]["draining_over_faust_loop_median"] = results["drain_rounds"]["ratio"]
    if "sustained" in results:
        stages = {k: v for k, v in results["sustained"]["stage_seconds"].items() if k in STAGES}
        total = sum(stages.values()) or 1.0
        results["stage_share"] = {k: v / total for k, v in stages.items()}
        results["stage_microseconds_per_transaction"] = {
            k: v / results["sustained"]["rows"] * 1e6 for k, v in stages.items()
        }
    results["versions"] = versions("faust-streaming", "aiokafka", "confluent-kafka", "asyncpg")
    print(orjson.dumps(results["ratios"]).decode())
    name = "pipeline" if parts == ALL_PARTS else "pipeline-" + "-".join(sorted(parts))
    print(f"wrote {write_result(name, results)}")  # a partial run keeps the full run's file


if __name__ == "__main__":
    main()
