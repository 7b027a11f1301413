"""Prometheus metrics of the champion/challenger scheduler (its own /metrics port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from fraudstream.storage.models import ChallengerDecision

RUNS = Counter(
    "fraudstream_challenger_runs_total",
    "Runs by outcome (promoted, kept, no_decision, failed, skipped)",
    ["action"],
)
RUN_SECONDS = Histogram(
    "fraudstream_challenger_run_seconds",
    "Wall time of one run (score, decide, retrain, register)",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
)
METRIC = Gauge(
    "fraudstream_challenger_metric",
    "The decision metric of each model at the latest decision",
    ["alias"],
)
DIFFERENCE_CI_LOW = Gauge(
    "fraudstream_challenger_difference_ci_low",
    "Low end of the CI of challenger minus champion at the latest decision",
)
LAST_RUN = Gauge(
    "fraudstream_challenger_last_run_timestamp_seconds", "When the latest run ended", ["action"]
)
LABELLED_FRAUDS = Gauge(
    "fraudstream_challenger_labelled_frauds", "Labelled frauds in the latest evaluation window"
)


def publish(decision: ChallengerDecision) -> None:
    """Expose one run's outcome."""
    RUNS.labels(decision.action).inc()
    LAST_RUN.labels(decision.action).set_to_current_time()
    if decision.duration_seconds is not None:
        RUN_SECONDS.observe(decision.duration_seconds)
    if decision.action == "failed":
        return
    LABELLED_FRAUDS.set(decision.n_frauds)
    for alias in ("champion", "challenger"):
        estimate = getattr(decision, alias)
        if estimate is not None:
            METRIC.labels(alias).set(estimate.value)
    if decision.difference is not None:
        DIFFERENCE_CI_LOW.set(decision.difference.ci_low)


def skipped() -> None:
    RUNS.labels("skipped").inc()
