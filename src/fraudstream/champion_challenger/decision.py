"""Which model should serve: a paired, stratified bootstrap of the metric, and the rule.

Both models are scored on exactly the same labelled rows, so their metrics are compared *paired*:
every bootstrap draw resamples the rows once and measures both models on that one resample.
The difference is then far less noisy than two separate confidence intervals would suggest,
and a challenger wins only when the low end of the difference's interval clears the margin.
Draws are *stratified* (frauds and legitimate rows resampled separately, each to its own count)
so that no draw lacks frauds, and *seeded*: the same rows always give the same decision, so the
models cannot flap on the same data.

The bootstrap never materialises a resampled table. Rows that the metric cannot tell apart
(same class, same position among the fraud scores of each model, or for the cost metric the
same pair of flags) fall into one cell, and a draw is one multinomial count per cell. A million
rows with a few thousand frauds then cost milliseconds per draw.

Metrics:

- ``pr_auc``: average precision (step-wise; :func:`fraudstream.quality.pr_auc`);
- ``cost``: over the window, the fraud amount each model flags at its own threshold, minus
  ``review_cost`` per flagged transaction (what the analysts' time costs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from fraudstream.storage.models import MetricEstimate

MetricName = Literal["pr_auc", "cost"]
Ruled = Literal["promoted", "kept", "no_decision"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_CHUNK_CELLS: Final = 2_000_000
"""Draws are computed a few at a time so that draws x cells stays about this size."""
METRIC_TITLES: Final[dict[str, str]] = {"pr_auc": "PR-AUC", "cost": "net amount"}


@dataclass(frozen=True)
class Paired:
    """Labels, amounts and both models' scores on the same rows, with each model's threshold."""

    labels: IntArray
    amounts: FloatArray
    champion: FloatArray
    challenger: FloatArray
    champion_threshold: float
    challenger_threshold: float

    def __post_init__(self) -> None:
        n = len(self.labels)
        if not (len(self.amounts) == len(self.champion) == len(self.challenger) == n):
            raise ValueError("labels, amounts and both score arrays must have the same length")

    @property
    def rows(self) -> int:
        return len(self.labels)

    @property
    def frauds(self) -> int:
        return int(np.sum(self.labels == 1))


@dataclass(frozen=True)
class Comparison:
    """Both models' metric and the difference (challenger minus champion), each with its CI."""

    metric: MetricName
    champion: MetricEstimate
    challenger: MetricEstimate
    difference: MetricEstimate
    draws: int
    confidence: float


@dataclass(frozen=True)
class Ruling:
    """What the job should do, and the sentence that says why (recorded with the decision)."""

    action: Ruled
    reason: str


# -- the cells ----------------------------------------------------------------------------------


def _cells(first: IntArray, second: IntArray) -> tuple[IntArray, IntArray]:
    """Distinct (first, second) pairs of non-negative keys (one cell each) and how many rows
    each cell holds; the pairs are packed into one integer so that a 1-D sort finds them."""
    if first.size == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    width = int(second.max()) + 1
    packed, counts = np.unique(first * width + second, return_counts=True)
    cells = np.stack([packed // width, packed % width], axis=1)
    return cells.astype(np.int64), counts.astype(np.int64)


def _pr_levels(labels: IntArray, scores: FloatArray) -> tuple[int, IntArray, IntArray]:
    fraud = labels == 1
    levels = np.unique(scores[fraud])
    fraud_level = np.searchsorted(levels, scores[fraud], side="left").astype(np.int64)
    reach = np.searchsorted(levels, scores[~fraud], side="right").astype(np.int64)
    return len(levels), fraud_level, reach


def _binned(index: IntArray, weight: FloatArray, width: int) -> FloatArray:
    """Per draw (row of ``weight``), the weights summed by ``index``: shape (draws, width)."""
    draws = weight.shape[0]
    offsets = (np.arange(draws, dtype=np.int64) * width)[:, None]
    flat = np.bincount((index[None, :] + offsets).ravel(), weight.ravel(), draws * width)
    return np.asarray(flat, dtype=np.float64).reshape(draws, width)


def _suffix_sum(values: FloatArray) -> FloatArray:
    """For each column k, the sum of columns k and above (per row)."""
    out: FloatArray = np.cumsum(values[:, ::-1], axis=1)[:, ::-1]
    return out


def _average_precision(
    n_levels: int,
    fraud_level: IntArray,
    fraud_weight: FloatArray,
    reach: IntArray,
    legit_weight: FloatArray,
) -> FloatArray:
    """Average precision for a batch of weightings (rows of the weight matrices).

    ``fraud_weight`` is (draws, cells of frauds), ``legit_weight`` (draws, cells of legit rows).
    Each fraud contributes its weight times the precision at its own score; precision counts
    every row scored at or above it (ties included, as scikit-learn does).
    """
    at_level = _binned(fraud_level, fraud_weight, n_levels)
    tp = _suffix_sum(at_level)
    fp = _suffix_sum(_binned(reach, legit_weight, n_levels + 1))[:, 1:]
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp > 0)
    total = at_level.sum(axis=1)
    ap: FloatArray = (at_level * precision).sum(axis=1) / np.where(total > 0, total, 1.0)
    return ap


class _PrMetric:
    """Average precision of both models on cells of identical rows."""

    def __init__(self, paired: Paired) -> None:
        labels = paired.labels
        n_a, level_a, reach_a = _pr_levels(labels, paired.champion)
        n_b, level_b, reach_b = _pr_levels(labels, paired.challenger)
        self.n_levels = (n_a, n_b)
        self.fraud_cells, self.fraud_sizes = _cells(level_a, level_b)
        self.legit_cells, self.legit_sizes = _cells(reach_a, reach_b)

    def values(self, fraud_w: FloatArray, legit_w: FloatArray) -> tuple[FloatArray, FloatArray]:
        return tuple(  # type: ignore[return-value]
            _average_precision(
                self.n_levels[m],
                self.fraud_cells[:, m],
                fraud_w,
                self.legit_cells[:, m],
                legit_w,
            )
            for m in (0, 1)
        )


class _CostMetric:
    """Fraud amount flagged minus the review cost of every flagged row, for both models."""

    def __init__(self, paired: Paired, review_cost: float) -> None:
        fraud = paired.labels == 1
        flag_a = (paired.champion >= paired.champion_threshold).astype(np.int64)
        flag_b = (paired.challenger >= paired.challenger_threshold).astype(np.int64)
        # frauds differ by amount too: each fraud is its own cell
        self.fraud_sizes = np.ones(int(fraud.sum()), dtype=np.int64)
        gain = paired.amounts[fraud] - review_cost
        self.fraud_value = np.stack([flag_a[fraud] * gain, flag_b[fraud] * gain], axis=1)
        cells, self.legit_sizes = _cells(flag_a[~fraud], flag_b[~fraud])
        self.legit_value = -review_cost * cells.astype(np.float64)

    def values(self, fraud_w: FloatArray, legit_w: FloatArray) -> tuple[FloatArray, FloatArray]:
        total = fraud_w @ self.fraud_value + legit_w @ self.legit_value
        return total[:, 0], total[:, 1]


def _estimate(point: float, draws: FloatArray, confidence: float) -> MetricEstimate:
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return MetricEstimate(value=float(point), ci_low=float(low), ci_high=float(high))


def compare(
    paired: Paired,
    metric: MetricName = "pr_auc",
    *,
    draws: int = 500,
    confidence: float = 0.95,
    review_cost: float = 0.0,
    seed: int = 0,
) -> Comparison:
    """Both models' ``metric`` on ``paired`` with percentile CIs from ``draws`` paired,
    stratified bootstrap draws; the same inputs always give the same answer."""
    if paired.frauds == 0 or paired.frauds == paired.rows:
        raise ValueError("a comparison needs both frauds and legitimate rows")
    model = _PrMetric(paired) if metric == "pr_auc" else _CostMetric(paired, review_cost)
    one_f = model.fraud_sizes[None, :].astype(np.float64)
    one_l = model.legit_sizes[None, :].astype(np.float64)
    point_a, point_b = (float(v[0]) for v in model.values(one_f, one_l))
    rng = np.random.default_rng(seed)
    n_f, n_l = int(model.fraud_sizes.sum()), int(model.legit_sizes.sum())
    p_f = model.fraud_sizes / n_f
    p_l = model.legit_sizes / n_l
    champion, challenger = np.empty(draws), np.empty(draws)
    chunk = max(1, _CHUNK_CELLS // max(len(p_f), len(p_l)))
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        fraud_w = rng.multinomial(n_f, p_f, size=size).astype(np.float64)
        legit_w = rng.multinomial(n_l, p_l, size=size).astype(np.float64)
        a, b = model.values(fraud_w, legit_w)
        champion[start : start + size] = a
        challenger[start : start + size] = b
    return Comparison(
        metric=metric,
        champion=_estimate(point_a, champion, confidence),
        challenger=_estimate(point_b, challenger, confidence),
        difference=_estimate(point_b - point_a, challenger - champion, confidence),
        draws=draws,
        confidence=confidence,
    )


# -- the rule -----------------------------------------------------------------------------------


def _show(metric: MetricName, value: float) -> str:
    return f"{value:.4f}" if metric == "pr_auc" else f"{value:,.2f}"


def too_few_frauds(frauds: int, rows: int, min_frauds: int) -> Ruling | None:
    """No decision below ``min_frauds`` labelled frauds: any difference would be noise."""
    if frauds >= min_frauds:
        return None
    return Ruling(
        "no_decision",
        f"{frauds} labelled frauds among {rows:,} rows in the window; at least {min_frauds} "
        "are needed for a decision (FRAUD_CHALLENGER_MIN_FRAUDS)",
    )


def rule(comparison: Comparison, margin: float = 0.0) -> Ruling:
    """Promote when the challenger beats the champion by more than ``margin`` at the low end of
    the difference's confidence interval; otherwise keep the champion."""
    m = comparison.metric
    title = METRIC_TITLES[m]
    diff = comparison.difference
    ci = f"{comparison.confidence:.0%} CI {_show(m, diff.ci_low)} .. {_show(m, diff.ci_high)}"
    both = (
        f"challenger {title} {_show(m, comparison.challenger.value)}, champion "
        f"{_show(m, comparison.champion.value)}"
    )
    if diff.ci_low > margin:
        return Ruling(
            "promoted",
            f"{both}: the challenger is better by {_show(m, diff.value)} ({ci}, above the "
            f"margin {_show(m, margin)})",
        )
    return Ruling(
        "kept",
        f"{both}: difference {_show(m, diff.value)} ({ci}) does not clear the margin "
        f"{_show(m, margin)}; the champion stays",
    )
