"""Every number the dashboard shows, as one SQL statement each, aggregated by PostgreSQL.

The functions take a :class:`~fraudstream.storage.readonly.Reader` and plain values and return a
frame; nothing here knows Streamlit, so the tests call them on a seeded database directly.
Whole tables never travel: counts, histograms (``width_bucket``) and time series (``date_bin``)
are computed by the server, lists carry a ``LIMIT``, and every scan is bounded by a time window
on an indexed column (``scored_at``, ``ts``, ``failed_at``, ``labelled_at``, ``created_at``;
see ``storage/migrations/0001_initial.sql``). Windows are relative to the server's ``now()``,
so a cached result stays valid for everybody who asks for the same window. Every time in a
frame is UTC (see :class:`~fraudstream.storage.readonly.ReadOnlyDatabase`).

SQL text is built only from the constants of this module; values always travel as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from fraudstream.storage.readonly import Reader

if TYPE_CHECKING:
    import pandas as pd

HISTOGRAM_BINS: Final = 20
LIVE_WINDOW: Final = timedelta(seconds=30)
"""A worker that reported within this (six of its 5 s intervals) counts as live."""
_ORIGIN: Final = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
_BUCKETS: Final = tuple(
    timedelta(seconds=s) for s in (5, 10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
)


def bucket_for(window: timedelta, points: int = 90) -> timedelta:
    """The smallest round bucket that draws ``window`` in at most ``points`` points."""
    for bucket in _BUCKETS:
        if window / bucket <= points:
            return bucket
    return _BUCKETS[-1]


# -- Live ---------------------------------------------------------------------------------------

_LIVE_NOW: Final = """
WITH latest AS (
    SELECT DISTINCT ON (worker) worker, ts, throughput, lag, batch_size,
           latency_p50_ms, latency_p95_ms, latency_p99_ms
    FROM stream_metrics
    WHERE ts >= now() - %(recent)s
    ORDER BY worker, ts DESC
)
SELECT count(*)::int                       AS workers,
       coalesce(sum(throughput), 0)::float8 AS throughput,
       coalesce(sum(lag), 0)::bigint        AS lag,
       coalesce(sum(batch_size), 0)::bigint AS pending,
       max(latency_p50_ms)                  AS latency_p50_ms,
       max(latency_p95_ms)                  AS latency_p95_ms,
       max(latency_p99_ms)                  AS latency_p99_ms,
       max(ts)                              AS last_report,
       (SELECT max(ts) FROM stream_metrics) AS last_report_ever
FROM latest
"""


def live_now(db: Reader, recent: timedelta = LIVE_WINDOW) -> pd.DataFrame:
    """One row: the stream right now, summed over the workers that reported within ``recent``.

    Throughput, lag and pending batch size add up across workers; latency is the worst
    worker's. ``last_report_ever`` tells a stopped stream from one that never ran.
    """
    return db.frame(_LIVE_NOW, {"recent": recent})


_STREAM_STATES: Final = """
SELECT DISTINCT ON (worker) worker, ts, state, state_since, state_reason, isolating,
       last_failure, last_failure_at
FROM stream_metrics
WHERE ts >= now() - %(recent)s
ORDER BY worker, ts DESC
"""


def stream_states(db: Reader, recent: timedelta = LIVE_WINDOW) -> pd.DataFrame:
    """What each live worker is doing (its latest report): flowing, retrying since when and
    why, or isolating messages; and the last failure it saw. Words for it:
    :func:`fraudstream.dashboard.wording.stream_state`."""
    return db.frame(_STREAM_STATES, {"recent": recent})


_TRAFFIC: Final = """
SELECT v.scored, v.flagged, l.labelled, l.labelled_frauds, d.dead_letters
FROM (SELECT count(*)::bigint AS scored,
             count(*) FILTER (WHERE is_fraud_pred = 1)::bigint AS flagged
      FROM scored_transactions WHERE scored_at >= now() - %(window)s) AS v,
     (SELECT count(*)::bigint AS labelled,
             count(*) FILTER (WHERE is_fraud = 1)::bigint AS labelled_frauds
      FROM labels WHERE labelled_at >= now() - %(window)s) AS l,
     (SELECT count(*)::bigint AS dead_letters
      FROM dead_letters WHERE failed_at >= now() - %(window)s) AS d
"""


def traffic(db: Reader, window: timedelta) -> pd.DataFrame:
    """One row of counts over the last ``window``: verdicts, flagged, labels (confirmed frauds
    among them) and dead letters."""
    return db.frame(_TRAFFIC, {"window": window})


_STREAM_SERIES: Final = f"""
WITH per_worker AS (
    SELECT date_bin(%(bucket)s, ts, {_ORIGIN}) AS t, worker,
           avg(throughput) AS throughput, max(lag) AS lag,
           max(latency_p50_ms) AS p50, max(latency_p95_ms) AS p95, max(latency_p99_ms) AS p99,
           sum(dlq_count) AS dlq, sum(retries) AS retries
    FROM stream_metrics
    WHERE ts >= now() - %(window)s
    GROUP BY 1, 2
)
SELECT t, sum(throughput)::float8 AS throughput, sum(lag)::bigint AS lag,
       max(p50) AS latency_p50_ms, max(p95) AS latency_p95_ms, max(p99) AS latency_p99_ms,
       sum(dlq)::bigint AS dlq_count, sum(retries)::bigint AS retries
FROM per_worker GROUP BY t ORDER BY t
"""  # noqa: S608  (constants only)


def stream_series(db: Reader, window: timedelta) -> pd.DataFrame:
    """Throughput (summed over workers), lag, end-to-end latency percentiles (worst worker),
    dead letters and retries per time bucket over the last ``window``."""
    return db.frame(_STREAM_SERIES, {"window": window, "bucket": bucket_for(window)})


_VERDICT_SERIES: Final = f"""
SELECT date_bin(%(bucket)s, scored_at, {_ORIGIN}) AS t,
       count(*)::bigint AS scored,
       count(*) FILTER (WHERE is_fraud_pred = 1)::bigint AS flagged
FROM scored_transactions
WHERE scored_at >= now() - %(window)s
GROUP BY 1 ORDER BY 1
"""  # noqa: S608  (constants only)


def verdict_series(db: Reader, window: timedelta) -> pd.DataFrame:
    """Verdicts and flagged verdicts per time bucket, with the flagged rate."""
    frame = db.frame(_VERDICT_SERIES, {"window": window, "bucket": bucket_for(window)})
    frame["flagged_rate"] = (frame["flagged"] / frame["scored"]).astype("float64")
    return frame


# -- Flagged -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """What the analyst narrowed the Flagged page to; empty fields do not filter."""

    window: timedelta = timedelta(hours=24)
    categories: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    amount_min: float | None = None
    amount_max: float | None = None

    def where(self, *, flagged_only: bool) -> tuple[str, dict[str, Any]]:
        """The WHERE clause (from fixed fragments) and its parameters.

        Only the filters in use appear, so the planner sees the plain predicate and picks the
        partial ``scored_transactions_flagged`` index or the (category|state, scored_at) ones.
        """
        clauses = ["scored_at >= now() - %(window)s"]
        params: dict[str, Any] = {"window": self.window}
        if flagged_only:
            clauses.append("is_fraud_pred = 1")
        if self.categories:
            clauses.append("category = ANY(%(categories)s)")
            params["categories"] = list(self.categories)
        if self.states:
            clauses.append("state = ANY(%(states)s)")
            params["states"] = list(self.states)
        if self.amount_min is not None:
            clauses.append("amt >= %(amount_min)s")
            params["amount_min"] = self.amount_min
        if self.amount_max is not None:
            clauses.append("amt <= %(amount_max)s")
            params["amount_max"] = self.amount_max
        return " AND ".join(clauses), params


# The reasons, strongest first, as "amt +1.20, hour +0.40"; the card shown by its last 4 digits.
_FLAGGED: Final = """
SELECT trans_num, scored_at, trans_date_trans_time,
       '…' || right(cc_num::text, 4) AS card,
       merchant, category, amt, city, state, score, threshold, model_version,
       (SELECT string_agg(
                   (r ->> 'feature') || ' ' || to_char((r ->> 'contribution')::float8, 'FMS0.00'),
                   ', ' ORDER BY abs((r ->> 'contribution')::float8) DESC)
        FROM jsonb_array_elements(reasons) AS r) AS reasons,
       lat, long, merch_lat, merch_long
FROM scored_transactions
WHERE {where}
ORDER BY scored_at DESC, trans_num
LIMIT %(limit)s
"""


def flagged(db: Reader, filters: TransactionFilter, limit: int = 200) -> pd.DataFrame:
    """The latest flagged transactions that pass ``filters``, newest first."""
    where, params = filters.where(flagged_only=True)
    return db.frame(_FLAGGED.format(where=where), {**params, "limit": limit})


_HISTOGRAM: Final = """
SELECT least(width_bucket(score, 0, 1, %(bins)s), %(bins)s) AS bucket,
       count(*)::bigint AS transactions,
       count(*) FILTER (WHERE is_fraud_pred = 1)::bigint AS flagged
FROM scored_transactions
WHERE {where}
GROUP BY 1 ORDER BY 1
"""


def score_histogram(
    db: Reader, filters: TransactionFilter, bins: int = HISTOGRAM_BINS
) -> pd.DataFrame:
    """How the scores of every transaction passing ``filters`` spread over ``bins`` equal bins
    of [0, 1] (a score of exactly 1 falls in the last); empty bins are rows of zeros, so the
    frame always has ``bins`` rows."""
    import pandas as pd

    where, params = filters.where(flagged_only=False)
    counted = db.frame(_HISTOGRAM.format(where=where), {**params, "bins": bins})
    frame = pd.DataFrame({"bucket": range(1, bins + 1)})
    frame = frame.merge(counted, on="bucket", how="left").fillna(0)
    frame["low"] = (frame["bucket"] - 1) / bins
    frame["high"] = frame["bucket"] / bins
    frame["transactions"] = frame["transactions"].astype("int64")
    frame["flagged"] = frame["flagged"].astype("int64")
    return frame[["bucket", "low", "high", "transactions", "flagged"]]


_FLAGGED_STATES: Final = """
SELECT DISTINCT state FROM scored_transactions
WHERE is_fraud_pred = 1 AND scored_at >= now() - %(window)s
ORDER BY state
"""


def flagged_states(db: Reader, window: timedelta) -> list[str]:
    """The states that flagged transactions of the window come from (the state filter's list)."""
    return [str(s) for s in db.frame(_FLAGGED_STATES, {"window": window})["state"]]


# -- Models --------------------------------------------------------------------------------------

_DECISIONS: Final = """
SELECT run_at, action, reason, champion_version, challenger_version,
       champion_metric, challenger_metric, difference, difference_ci_low, difference_ci_high,
       coalesce(new_champion_version, champion_version) AS champion_after,
       coalesce(new_challenger_version, challenger_version) AS challenger_after,
       n_rows, n_frauds, champion_ci_low, champion_ci_high, challenger_ci_low,
       challenger_ci_high, scoring, window_start, window_end, duration_seconds, metric,
       model_name, id
FROM challenger_decisions
ORDER BY run_at DESC, id DESC
LIMIT %(limit)s
"""


def decisions(db: Reader, limit: int = 100) -> pd.DataFrame:
    """The latest champion/challenger runs, newest first: both metrics and their paired
    difference with confidence intervals, the sample they were measured on, what was decided and
    why, and which versions the aliases named after the run."""
    return db.frame(_DECISIONS, {"limit": limit})


_DECISION_DAYS: Final = """
SELECT d.day, m.model, m.value, (c.daily ->> 'cards_per_day')::int AS cards_per_day
FROM challenger_decisions AS c,
     jsonb_to_recordset(c.daily -> 'days') AS d(day date, champion float8, challenger float8),
     LATERAL (VALUES ('champion', d.champion), ('challenger', d.challenger)) AS m(model, value)
WHERE c.id = %(decision)s
ORDER BY d.day, m.model DESC
"""


def decision_days(db: Reader, decision_id: int) -> pd.DataFrame:
    """A card-metric decision's figure day by day, one row per day and model (champion first),
    with the k it was measured at; no rows for a decision on another metric (see
    ``storage/migrations/0007_decision_daily.sql``)."""
    return db.frame(_DECISION_DAYS, {"decision": decision_id})


_SERVING_VERSIONS: Final = """
SELECT model_name, model_version, count(*)::bigint AS verdicts,
       count(*) FILTER (WHERE is_fraud_pred = 1)::bigint AS flagged,
       min(scored_at) AS first_verdict, max(scored_at) AS last_verdict
FROM scored_transactions
WHERE scored_at >= now() - %(window)s
GROUP BY 1, 2 ORDER BY last_verdict DESC
"""


def serving_versions(db: Reader, window: timedelta) -> pd.DataFrame:
    """Which model versions gave the verdicts of the window (a promotion shows as a hand-over)."""
    return db.frame(_SERVING_VERSIONS, {"window": window})


# -- Drift ---------------------------------------------------------------------------------------

_DRIFT_REPORTS: Final = """
SELECT id, created_at, window_start, window_end, reference, drifted, summary,
       model_version, score_psi, max_feature_psi, n_rows, labelled_rows, fraud_rate,
       reference_fraud_rate
FROM drift_reports
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""


def drift_reports(db: Reader, limit: int = 50) -> pd.DataFrame:
    """The latest drift reports, newest first."""
    return db.frame(_DRIFT_REPORTS, {"limit": limit})


# A feature's entry is an object holding at least "psi" (monitoring.report's as_json): "ks" is a
# number (or an object with "statistic" and "pvalue"), "ks_pvalue", "drifted", and "counted"
# (false for lifetime features the verdict ignores). The model's score has an entry too.
_FEATURE_VALUES: Final = """
       (f.value ->> 'psi')::float8 AS psi,
       CASE jsonb_typeof(f.value -> 'ks')
           WHEN 'number' THEN (f.value ->> 'ks')::float8
           WHEN 'object' THEN (f.value -> 'ks' ->> 'statistic')::float8
       END AS ks,
       coalesce(f.value ->> 'ks_pvalue', f.value -> 'ks' ->> 'pvalue')::float8 AS ks_pvalue,
       (f.value ->> 'drifted')::boolean AS drifted,
       coalesce((f.value ->> 'counted')::boolean, true) AS counted
"""
_DRIFT_FEATURES: Final = f"""
SELECT f.key AS feature, {_FEATURE_VALUES}
FROM drift_reports AS r, jsonb_each(r.features) AS f
WHERE r.id = %(report)s AND jsonb_typeof(f.value) = 'object'
ORDER BY psi DESC NULLS LAST, feature
"""  # noqa: S608  (constants only)


def drift_features(db: Reader, report_id: int) -> pd.DataFrame:
    """One row per feature of a report: PSI, KS distance and p-value, the drift flag."""
    return db.frame(_DRIFT_FEATURES, {"report": report_id})


_DRIFT_HISTORY: Final = f"""
WITH recent AS (
    SELECT id, created_at, features FROM drift_reports
    ORDER BY created_at DESC, id DESC LIMIT %(reports)s
)
SELECT r.created_at, f.key AS feature, {_FEATURE_VALUES}
FROM recent AS r, jsonb_each(r.features) AS f
WHERE jsonb_typeof(f.value) = 'object'
ORDER BY r.created_at, feature
"""  # noqa: S608  (constants only)


def drift_history(db: Reader, reports: int = 30) -> pd.DataFrame:
    """PSI and KS of every feature over the latest ``reports`` reports, oldest first."""
    return db.frame(_DRIFT_HISTORY, {"reports": reports})


# -- Dead letters --------------------------------------------------------------------------------

_DEAD_REASONS: Final = """
SELECT reason, count(*)::bigint AS messages, max(failed_at) AS last_seen
FROM dead_letters
WHERE failed_at >= now() - %(window)s
GROUP BY reason ORDER BY messages DESC, last_seen DESC
LIMIT %(limit)s
"""


def dead_letter_reasons(db: Reader, window: timedelta, limit: int = 50) -> pd.DataFrame:
    """Why messages were set aside over the window, the most frequent reason first."""
    return db.frame(_DEAD_REASONS, {"window": window, "limit": limit})


# The payload is shown as text, cut short: it is whatever bytes the producer sent.
# A dead letter's key is the card number, and its payload may hold one: every run of 11 to 19
# digits (a card number; never a unix time, a zip or an amount) shows its last four only.
_DEAD_RECENT: Final = r"""
SELECT failed_at, topic, kafka_partition, kafka_offset, reason,
       regexp_replace(encode(key, 'escape'), '\d{7,15}(\d{4})', '…\1', 'g') AS key,
       regexp_replace(encode(substring(payload FROM 1 FOR 160), 'escape'),
                      '\d{7,15}(\d{4})', '…\1', 'g') AS payload
FROM dead_letters
ORDER BY failed_at DESC, id DESC
LIMIT %(limit)s
"""


def recent_dead_letters(db: Reader, limit: int = 100) -> pd.DataFrame:
    """The latest dead letters with their reason, topic position and the payload's start, card
    numbers masked."""
    return db.frame(_DEAD_RECENT, {"limit": limit})


# -- Review queue and audit trail ---------------------------------------------------------------

# The card travels as its number (the page needs it to fetch the card's history and to key the
# label on Kafka) and as the masked text the page shows; the page never displays the number.
_REVIEW_QUEUE: Final = """
SELECT s.trans_num, s.cc_num, '…' || right(s.cc_num::text, 4) AS card,
       s.trans_date_trans_time, s.scored_at, s.merchant, s.category, s.amt, s.city, s.state,
       s.lat, s.long, s.merch_lat, s.merch_long, s.score, s.threshold, s.model_name,
       s.model_version, s.reasons
FROM scored_transactions AS s
WHERE s.scored_at >= now() - %(window)s AND s.is_fraud_pred = 1
  AND NOT EXISTS (SELECT 1 FROM labels AS l WHERE l.trans_num = s.trans_num)
  AND NOT s.trans_num = ANY(%(hidden)s)
ORDER BY s.score DESC, s.scored_at DESC, s.trans_num
LIMIT %(limit)s
"""


def review_queue(
    db: Reader, window: timedelta, hidden: tuple[str, ...] = (), limit: int = 50
) -> pd.DataFrame:
    """Flagged transactions of the window without a label yet (no analyst decided them, and no
    chargeback arrived), highest score first.

    ``hidden`` are those this browser session already decided or skipped: a decision reaches
    PostgreSQL through Kafka a moment later, and the next transaction must show at once.
    """
    return db.frame(_REVIEW_QUEUE, {"window": window, "hidden": list(hidden), "limit": limit})


_QUEUE_SIZE: Final = """
SELECT count(*)::bigint AS waiting
FROM scored_transactions AS s
WHERE s.scored_at >= now() - %(window)s AND s.is_fraud_pred = 1
  AND NOT EXISTS (SELECT 1 FROM labels AS l WHERE l.trans_num = s.trans_num)
"""


def queue_size(db: Reader, window: timedelta) -> int:
    """How many flagged transactions of the window wait for a label (:func:`review_queue`)."""
    return int(db.frame(_QUEUE_SIZE, {"window": window})["waiting"].iloc[0])


_CARD_HISTORY: Final = """
SELECT s.trans_num, s.trans_date_trans_time, s.merchant, s.category, s.amt, s.score,
       s.is_fraud_pred, l.is_fraud AS label, l.source AS label_source
FROM scored_transactions AS s
LEFT JOIN labels AS l USING (trans_num)
WHERE s.cc_num = %(card)s AND s.trans_date_trans_time <= %(until)s
ORDER BY s.trans_date_trans_time DESC, s.trans_num
LIMIT %(limit)s
"""


def card_history(db: Reader, card: int, until: Any, limit: int = 10) -> pd.DataFrame:
    """The card's latest transactions up to ``until`` (its transaction time), newest first,
    with their verdicts and labels (index ``scored_transactions_card``)."""
    return db.frame(_CARD_HISTORY, {"card": card, "until": until, "limit": limit})


_MY_REVIEWS: Final = """
SELECT d.stored_at AS decided_at, d.trans_num, d.is_fraud AS decision, d.note,
       '…' || right(s.cc_num::text, 4) AS card, s.merchant, s.category, s.amt, s.score,
       l.source AS counts_source, l.is_fraud AS counts
FROM label_decisions AS d
LEFT JOIN scored_transactions AS s USING (trans_num)
LEFT JOIN labels AS l USING (trans_num)
WHERE d.source = 'analyst' AND d.author = %(author)s
ORDER BY d.stored_at DESC, d.id DESC
LIMIT %(limit)s
"""


def my_reviews(db: Reader, author: str, limit: int = 200) -> pd.DataFrame:
    """An analyst's decisions, newest first, each with the label that counts now for its
    transaction (``counts``; a later chargeback may overrule the analyst)."""
    return db.frame(_MY_REVIEWS, {"author": author, "limit": limit})


_AUDIT: Final = """
SELECT d.id, d.stored_at, d.labelled_at, d.trans_num, d.source, d.author, d.is_fraud, d.note,
       '…' || right(s.cc_num::text, 4) AS card, s.amt, s.score
FROM label_decisions AS d
LEFT JOIN scored_transactions AS s USING (trans_num)
WHERE d.stored_at >= now() - %(window)s
  AND (%(source)s::text IS NULL OR d.source = %(source)s)
ORDER BY d.stored_at DESC, d.id DESC
LIMIT %(limit)s
"""


def audit_trail(
    db: Reader, window: timedelta, source: str | None = None, limit: int = 500
) -> pd.DataFrame:
    """Every label received in the window (never changed: ``label_decisions``), newest first."""
    return db.frame(_AUDIT, {"window": window, "source": source, "limit": limit})


_DISAGREEMENTS: Final = """
WITH recent AS (
    SELECT DISTINCT trans_num FROM label_decisions WHERE stored_at >= now() - %(window)s
), split AS (
    SELECT d.trans_num
    FROM label_decisions AS d JOIN recent USING (trans_num)
    GROUP BY d.trans_num HAVING count(DISTINCT d.is_fraud) > 1
)
SELECT split.trans_num,
       string_agg(coalesce(d.author, 'chargeback') || ': '
                  || CASE WHEN d.is_fraud = 1 THEN 'fraud' ELSE 'not fraud' END,
                  ' → ' ORDER BY d.labelled_at, d.id) AS decisions,
       max(l.source) AS counts_source, max(l.is_fraud) AS counts,
       max(d.stored_at) AS last_decision
FROM split
JOIN label_decisions AS d USING (trans_num)
LEFT JOIN labels AS l USING (trans_num)
GROUP BY split.trans_num
ORDER BY last_decision DESC
LIMIT %(limit)s
"""


def disagreements(db: Reader, window: timedelta, limit: int = 100) -> pd.DataFrame:
    """Transactions whose labels disagree (an analyst overruled by a chargeback, or two analysts
    apart), with every decision in order and the one that counts now."""
    return db.frame(_DISAGREEMENTS, {"window": window, "limit": limit})


_REVIEW_SUMMARY: Final = """
SELECT coalesce(author, 'chargeback') AS who,
       count(*)::bigint AS decisions,
       count(*) FILTER (WHERE is_fraud = 1)::bigint AS fraud,
       max(stored_at) AS last_decision
FROM label_decisions
WHERE stored_at >= now() - %(window)s
GROUP BY 1 ORDER BY decisions DESC
"""


def review_summary(db: Reader, window: timedelta) -> pd.DataFrame:
    """Labels of the window per analyst (chargebacks as one row): how many, how many fraud."""
    return db.frame(_REVIEW_SUMMARY, {"window": window})
