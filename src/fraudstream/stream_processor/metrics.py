"""Prometheus metrics of a stream worker (served on its own port, see ``fraudstream stream``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SCORED = Counter("fraudstream_stream_scored_total", "Transactions scored, stored and published")
FLAGGED = Counter("fraudstream_stream_flagged_total", "Verdicts is_fraud=1")
REPLAYED = Counter(
    "fraudstream_stream_replayed_total",
    "Messages delivered again whose verdict was already stored (published again)",
)
REPEATS = Counter(
    "fraudstream_stream_repeats_total",
    "Messages whose trans_num another message already brought (acknowledged, no second verdict)",
)
LOOKUPS = Counter(
    "fraudstream_stream_lookups_total",
    "Batch pieces stored as new that met a stored verdict: nothing was written, their stored "
    "verdicts were looked up and the rest scored again (after a redelivery or a duplicate)",
)
DEAD_LETTERS = Counter(
    "fraudstream_stream_dead_letters_total",
    "Messages sent to the dead-letter topic, by why: malformed (refused at decode), refused "
    "(named by the model service), poison (failed alone in a stage), label (not a label)",
    ["kind"],
)
ATTEMPTS = Counter(
    "fraudstream_stream_attempts_total",
    "Attempts of the scorer, by outcome: done, outage (retried), error (a bug: retried)",
    ["outcome"],
)
RETRIES = Counter("fraudstream_stream_retries_total", "Attempts that failed and were retried")
ISOLATIONS = Counter(
    "fraudstream_stream_isolations_total",
    "Batches split in two to find the messages behind a failure, by stage",
    ["stage"],
)
PROBES = Counter(
    "fraudstream_stream_probes_total",
    "Known-good transactions sent through the stages to tell a poison message from an outage",
    ["result"],
)
SUSPECTS = Gauge(
    "fraudstream_stream_isolating", "Messages held back after failing alone, awaiting a retry"
)
STATE = Gauge(
    "fraudstream_stream_state", "1 for what the worker is doing now, 0 for the others", ["state"]
)
RACED = Counter(
    "fraudstream_stream_raced_deliveries_total",
    "Messages Faust's fetch loop handed over racing a rebalance, because the delivery could "
    "wait (a full stream buffer, flow control): the rest go directly (drain.py)",
)
PENDING = Gauge("fraudstream_stream_pending", "Transactions pulled from Kafka, not yet done")
PARTITIONS = Gauge(
    "fraudstream_stream_partitions", "Partitions of the transactions topic this worker owns"
)
ASSIGNMENTS = Counter(
    "fraudstream_stream_assignments_total",
    "Assignments this worker took: one per rebalance it was part of (each one pauses scoring)",
)
LAG = Gauge("fraudstream_stream_lag", "Messages behind the end of the topic", ["partition"])
BATCH = Histogram(
    "fraudstream_stream_batch_size",
    "Transactions per attempt",
    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000),
)
SERVICE_SECONDS = Histogram(
    "fraudstream_stream_service_seconds",
    "Model service round trip",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
ATTEMPT_SECONDS = Histogram(
    "fraudstream_stream_attempt_seconds",
    "Wall time of one attempt: a batch scored, stored and published (what the next batch waits)",
    buckets=_WAIT_BUCKETS,
)
BATCH_AGE_SECONDS = Histogram(
    "fraudstream_stream_batch_age_seconds",
    "Age of a batch's oldest transaction when its attempt starts: the broker, the fetch and the "
    "wait for the attempt before (a high age with short attempts points before the scorer)",
    buckets=_WAIT_BUCKETS,
)
E2E_SECONDS = Histogram(
    "fraudstream_stream_e2e_seconds",
    "Transaction produced to verdict stored and published",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
LABELS = Counter("fraudstream_stream_labels_total", "Labels stored")
STAGE_SECONDS = Counter(
    "fraudstream_stream_stage_seconds_total",
    "Wall time spent in each step of scoring (where the time goes)",
    ["stage"],
)


def total(counter: Counter) -> float:
    """A counter's value summed over its labels (what the reporter turns into rates)."""
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )
