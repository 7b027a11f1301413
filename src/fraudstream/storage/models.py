"""The rows the repository writes and reads, built on :mod:`fraudstream.schema`.

Two kinds. The rows of the hot path (a verdict, a label, a shadow score: one per transaction)
are slotted dataclasses: their values already passed :class:`~fraudstream.schema.Transaction`
and :class:`~fraudstream.schema.Verdict` validation, and a second pydantic pass would cost more
than the database write. The rare rows that computations produce (a challenger decision, a drift
report, a metrics sample, a dead letter) are pydantic models, so a bug upstream fails where it is
made instead of as a constraint violation later.

Times: ``trans_date_trans_time`` stays Sparkov's naive wall-clock time; every time the system
measures itself (produced, scored, labelled, run) must carry a time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from typing import Any, Final, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NaiveDatetime

from fraudstream.errors import DataError
from fraudstream.schema import FEED_COLUMNS, LabelSource, Reason, Transaction, Verdict

VERDICT_COLUMNS: Final = (
    "score",
    "is_fraud_pred",
    "threshold",
    "model_name",
    "model_version",
    "reasons",
    "produced_at",
    "scored_at",
)
SOURCE_COLUMNS: Final = ("kafka_partition", "kafka_offset")
SCORED_COLUMNS: Final = (*FEED_COLUMNS, *VERDICT_COLUMNS, *SOURCE_COLUMNS)
"""The columns the repository writes to ``scored_transactions``, in record order."""

_feed_values = attrgetter(*FEED_COLUMNS)


def _reasons_json(reasons: Sequence[Reason]) -> str:
    """The reasons as jsonb text; any object with ``feature`` and ``contribution`` will do (the
    stream's verdicts are the fast structs of :mod:`fraudstream.wire`, not pydantic models)."""
    return orjson.dumps(
        [{"feature": r.feature, "contribution": r.contribution} for r in reasons]
    ).decode()


def _require_zone(name: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise DataError(f"{name} must carry a time zone (it is compared across machines)")


@dataclass(frozen=True, slots=True)
class ScoredTransaction:
    """A transaction with its verdict, as the stream stores it once the service answered."""

    transaction: Transaction
    verdict: Verdict
    produced_at: datetime
    """When the transaction reached Kafka (the message timestamp)."""
    scored_at: datetime
    """When the model service answered."""
    source: tuple[int, int] | None = None
    """The Kafka message it was scored from: (partition, offset) of the ``transactions`` topic."""

    def __post_init__(self) -> None:
        if self.transaction.trans_num != self.verdict.trans_num:
            raise DataError(
                f"verdict for {self.verdict.trans_num!r} paired with transaction "
                f"{self.transaction.trans_num!r}"
            )
        _require_zone("produced_at", self.produced_at)
        _require_zone("scored_at", self.scored_at)

    def record(self) -> tuple[Any, ...]:
        """The values in :data:`SCORED_COLUMNS` order, ready for COPY."""
        verdict = self.verdict
        return (
            *_feed_values(self.transaction),
            verdict.score,
            verdict.is_fraud,
            verdict.threshold,
            verdict.model_name,
            verdict.model_version,
            _reasons_json(verdict.reasons),
            self.produced_at,
            self.scored_at,
            *(self.source or (None, None)),
        )


@dataclass(frozen=True, slots=True)
class Label:
    """The ground truth of one transaction: a chargeback (or its window closing without one),
    known days later, or an analyst's decision, known within minutes."""

    trans_num: str
    is_fraud: Literal[0, 1]
    labelled_at: datetime
    source: LabelSource = "chargeback"
    author: str | None = None
    """The analyst who decided; None for a chargeback."""
    note: str | None = None

    def __post_init__(self) -> None:
        _require_zone("labelled_at", self.labelled_at)
        if (self.source == "analyst") != (self.author is not None):
            raise DataError("an analyst's label names its author, a chargeback none")

    @property
    def precedence(self) -> tuple[bool, datetime]:
        """Orders the labels of one transaction; the greatest counts (``docs/labels.md``): a
        chargeback outranks an analyst's decision, then the later label the earlier one. The
        storage's upsert applies the same order in SQL."""
        return (self.source == "chargeback", self.labelled_at)


@dataclass(frozen=True, slots=True)
class ShadowScore:
    """The score a model in shadow (the challenger) gave a transaction beside the champion."""

    trans_num: str
    model_name: str
    model_version: str
    score: float
    scored_at: datetime

    def __post_init__(self) -> None:
        _require_zone("scored_at", self.scored_at)


@dataclass(frozen=True, slots=True)
class LabelledTransaction:
    """A stored transaction whose label has arrived: what the challenger evaluates on.

    ``transaction.is_fraud`` is the label; the other fields are the verdict given at the time.
    """

    transaction: Transaction
    score: float
    is_fraud_pred: Literal[0, 1]
    model_name: str
    model_version: str
    scored_at: datetime
    labelled_at: datetime


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())


StreamState = Literal["starting", "flowing", "retrying", "isolating"]


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    """A verdict already stored, and the Kafka message it was scored from (None for rows stored
    before positions were kept)."""

    verdict: Verdict
    source: tuple[int, int] | None


class StreamMetrics(_Row):
    """What one stream worker saw over one reporting interval, and what it is doing now."""

    ts: AwareDatetime
    worker: str = Field(min_length=1)
    batch_size: int = Field(ge=0)
    throughput: float = Field(ge=0, description="Transactions per second over the interval.")
    lag: int = Field(ge=0, description="Messages behind the end of the topic.")
    retries: int = Field(ge=0)
    dlq_count: int = Field(ge=0)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    state: StreamState | None = None
    state_since: AwareDatetime | None = None
    state_reason: str | None = Field(default=None, description="Why it retries or isolates.")
    isolating: int | None = Field(default=None, ge=0, description="Messages under suspicion.")
    last_failure: str | None = None
    last_failure_at: AwareDatetime | None = None


class DeadLetter(_Row):
    """A message the stream set aside, and why (mirrors the dead-letter topic)."""

    failed_at: AwareDatetime
    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    reason: str
    key: bytes | None = None
    payload: bytes | None = None


class MetricEstimate(_Row):
    """A metric measured on a window, with its bootstrap confidence interval."""

    value: float
    ci_low: float
    ci_high: float


class DayValues(_Row):
    """Both models' card metric on one calendar day of the evaluation window."""

    day: date
    champion: float
    challenger: float


class DailyMetric(_Row):
    """What a card metric (CP@k/day, the fraud amount in the top k) is made of, day by day:
    the window's figure is the mean (CP@k) or the sum (amount) of these, and a single bad day
    shows here where the window's figure would hide it."""

    cards_per_day: int = Field(ge=1, description="k: the cards reviewed each day.")
    days: list[DayValues]


Action = Literal["promoted", "kept", "no_decision", "failed"]


class ChallengerDecision(_Row):
    """One run of the champion/challenger job, whatever it decided."""

    model_name: str
    metric: str
    champion_version: str | None
    challenger_version: str | None
    champion: MetricEstimate | None = None
    challenger: MetricEstimate | None = None
    window_start: NaiveDatetime | None = None
    window_end: NaiveDatetime | None = None
    n_rows: int = Field(ge=0)
    n_frauds: int = Field(ge=0)
    action: Action
    reason: str
    drift: dict[str, Any] | None = None
    run_at: AwareDatetime | None = Field(default=None, description="Defaults to the commit time.")
    difference: MetricEstimate | None = Field(
        default=None, description="Challenger minus champion, paired bootstrap CI."
    )
    scoring: Literal["stored", "offline"] | None = Field(
        default=None, description="Stored verdict and shadow scores, or both scored offline."
    )
    new_champion_version: str | None = Field(
        default=None, description="Where the champion alias points after the run."
    )
    new_challenger_version: str | None = Field(
        default=None, description="Where the challenger alias points after the run."
    )
    duration_seconds: float | None = Field(default=None, ge=0)
    daily: DailyMetric | None = Field(
        default=None, description="The card metrics' per-day values (cp_at_k, amount_at_k)."
    )


class DriftReport(_Row):
    """Drift between the training reference and a window of recent traffic."""

    window_start: NaiveDatetime
    window_end: NaiveDatetime
    reference: str = Field(description="What the window was compared with (a run, a file).")
    features: dict[str, Any] = Field(description="Per-feature results (PSI, KS, bins...).")
    drifted: bool
    summary: str
    created_at: AwareDatetime | None = Field(default=None, description="Defaults to now.")
    model_name: str | None = None
    model_version: str | None = Field(default=None, description="The model the reference is of.")
    score_psi: float | None = None
    max_feature_psi: float | None = None
    n_rows: int | None = Field(default=None, ge=0)
    labelled_rows: int | None = Field(default=None, ge=0)
    fraud_rate: float | None = Field(default=None, description="Among the labelled rows.")
    reference_fraud_rate: float | None = None
