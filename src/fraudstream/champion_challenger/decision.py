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
same pair of flags; for the card metrics, legitimate card-days in the same gap between fraud
card-days) fall into one cell, and a draw is one multinomial count per cell. A million rows
with a few thousand frauds then cost milliseconds per draw.

Metrics:

- ``pr_auc``: average precision (step-wise; :func:`fraudstream.quality.pr_auc`);
- ``cost``: over the window, the fraud amount each model flags at its own threshold, minus
  ``review_cost`` per flagged transaction (what the analysts' time costs);
- ``cp_at_k``: card precision top-k per day (Le Borgne et al., *Fraud Detection Handbook*,
  "Precision top-k metrics"): each day, the share of the ``cards_per_day`` cards ranked highest
  that had a fraud that day, averaged over the days of the window;
- ``amount_at_k``: the fraud amount of those top cards, summed over the days.

The two card metrics measure what a team that reviews ``cards_per_day`` cards a day gets out of
each model, whatever its threshold. Their bootstrap resamples *card-days* (a card on one calendar
day: the unit the metric ranks), not transactions; see :class:`_CardMetric`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from fraudstream.storage.models import MetricEstimate

MetricName = Literal["pr_auc", "cost", "cp_at_k", "amount_at_k"]
CardMetricName = Literal["cp_at_k", "amount_at_k"]
Ruled = Literal["promoted", "kept", "no_decision"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DailyValues = dict[date, tuple[float, float]]
"""Per calendar day: (champion, challenger)."""

_CHUNK_CELLS: Final = 2_000_000
"""Draws are computed a few at a time so that draws x cells stays about this size."""
METRIC_TITLES: Final[dict[str, str]] = {
    "pr_auc": "PR-AUC",
    "cost": "net amount",
    "cp_at_k": "CP@k/day",
    "amount_at_k": "fraud amount in top k",
}


@dataclass(frozen=True)
class Paired:
    """Labels, amounts and both models' scores on the same rows, with each model's threshold.

    ``cards`` (the card number) and ``days`` (the calendar day of the transaction time, as days
    since 1970-01-01) are needed by the card metrics only; the row metrics do without them.
    """

    labels: IntArray
    amounts: FloatArray
    champion: FloatArray
    challenger: FloatArray
    champion_threshold: float
    challenger_threshold: float
    cards: IntArray | None = None
    days: IntArray | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if not (len(self.amounts) == len(self.champion) == len(self.challenger) == n):
            raise ValueError("labels, amounts and both score arrays must have the same length")
        if (self.cards is None) != (self.days is None):
            raise ValueError("cards and days go together: give both or neither")
        if (
            self.cards is not None
            and self.days is not None
            and {len(self.cards), len(self.days)} != {n}
        ):
            raise ValueError("cards and days must have one value per row")

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
    cards_per_day: int | None = None
    """k of a card metric (None for the row metrics)."""
    daily: DailyValues | None = None
    """A card metric's point values day by day (see :func:`daily_values`)."""


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


def _card_days(
    paired: Paired, cards: IntArray, days: IntArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, BoolArray, FloatArray]:
    """One entry per (day, card) present: its day, its card, each model's highest score of the
    day, whether it had a fraud that day, and the amount of its frauds that day."""
    order = np.lexsort((cards, days))
    day, card = days[order], cards[order]
    start = np.flatnonzero(np.r_[True, (day[1:] != day[:-1]) | (card[1:] != card[:-1])])
    fraud_rows = paired.labels[order] == 1
    return (
        day[start],
        card[start],
        np.maximum.reduceat(paired.champion[order], start),
        np.maximum.reduceat(paired.challenger[order], start),
        np.logical_or.reduceat(fraud_rows, start),
        np.add.reduceat(np.where(fraud_rows, paired.amounts[order], 0.0), start),
    )


def _frauds_above(day: IntArray, card: IntArray, score: FloatArray, fraud: BoolArray) -> IntArray:
    """For each card-day, how many fraud card-days of its day one model ranks above it.

    The ranking is score descending, ties broken by card number ascending (the same for both
    models, so a tie never favours one). For a fraud card-day this is its rank among its day's
    frauds; for a legitimate one, the gap between two frauds it falls in.
    """
    order = np.lexsort((card, -score, day))
    flags = fraud[order].astype(np.int64)
    before = np.cumsum(flags) - flags
    sorted_day = day[order]
    first = np.searchsorted(sorted_day, sorted_day, side="left")
    above = np.empty_like(before)
    above[order] = before - before[first]
    return above


class _CardMetric:
    """Card precision top-k per day (CP@k/day) or the fraud amount in the top k, both models.

    The unit is the *card-day*: a card's transactions of one calendar day, scored by the
    highest score among them, a fraud when one of them is. Each day the ``k`` card-days ranked
    highest are the alerts; CP@k of the day is the number of fraud card-days among them over
    ``k``, or over the number of card-days of the day when it has fewer than ``k`` (the team
    reviews every card there is: not reaching ``k`` is no fault of the model). CP@k/day is the
    mean over the days; the amount is the sum, over the days, of the fraud amount of the fraud
    card-days in the top ``k``.

    Resampling: a draw gives each card-day a weight ``w`` (how many times it was drawn) and it
    stands ``w`` times in its day's ranking. The copy that straddles the ``k``-th place counts
    in part (``k`` minus the weight above it), so a draw's top-k holds exactly ``k`` (or every
    card-day of the day). A day no card-day of which was drawn has no alerts and is left out of
    that draw's mean.

    Cells: fraud card-days are one cell each (their amounts differ); legitimate card-days of one
    day that fall in the same gap between two fraud card-days in both models' rankings cannot be
    told apart by either metric, and share a cell (a few per day instead of thousands). A draw
    then needs only, per model, the weight in each gap and at each fraud: laid out day by day as
    gap, fraud, gap, fraud, ..., gap (``2 F + 1`` slots for a day of ``F`` fraud card-days), a
    running sum over the slots gives the weight ranked above each fraud.
    """

    def __init__(self, paired: Paired, cards_per_day: int, metric: CardMetricName) -> None:
        if paired.cards is None or paired.days is None:
            raise ValueError(f"{metric} ranks cards day by day: build Paired with cards= and days=")
        if cards_per_day < 1:
            raise ValueError("cards_per_day must be at least 1")
        self.k = float(cards_per_day)
        self.metric = metric
        day, card, score_a, score_b, fraud, amount = _card_days(paired, paired.cards, paired.days)
        if fraud.all() or not fraud.any():
            raise ValueError(f"{metric} needs card-days with frauds and card-days without")
        self.dates, inverse = np.unique(day, return_inverse=True)
        day_index = inverse.astype(np.int64)
        above_a = _frauds_above(day, card, score_a, fraud)
        above_b = _frauds_above(day, card, score_b, fraud)
        self.fraud_day = day_index[fraud]
        self.fraud_amount = amount[fraud]
        self.fraud_sizes = np.ones(int(fraud.sum()), dtype=np.int64)
        gaps = int(max(above_a.max(), above_b.max())) + 1
        cells, self.legit_sizes = _cells(
            day_index[~fraud] * gaps + above_a[~fraud], above_b[~fraud]
        )
        legit_day = cells[:, 0] // gaps
        slots_per_day = 2 * np.bincount(self.fraud_day, minlength=self.dates.size) + 1
        self.day_start = np.r_[0, np.cumsum(slots_per_day)[:-1]].astype(np.int64)
        self.slots = int(slots_per_day.sum())
        start = self.day_start[legit_day]
        self.legit_slot = (start + 2 * (cells[:, 0] % gaps), start + 2 * cells[:, 1])
        start = self.day_start[self.fraud_day]
        self.fraud_slot = (start + 2 * above_a[fraud] + 1, start + 2 * above_b[fraud] + 1)

    def per_day(
        self, fraud_w: FloatArray, legit_w: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per draw and day: the weighted card-days of the day, and each model's caught figure
        (fraud card-days in the top k for ``cp_at_k``, their fraud amount for ``amount_at_k``);
        each of shape (draws, days)."""
        caught = []
        for legit_slot, fraud_slot in zip(self.legit_slot, self.fraud_slot, strict=True):
            slots = _binned(legit_slot, legit_w, self.slots)
            slots[:, fraud_slot] += fraud_w  # one fraud per slot
            above = np.cumsum(slots, axis=1) - slots
            fraud_above = above[:, fraud_slot] - above[:, self.day_start[self.fraud_day]]
            taken = np.minimum(fraud_w, np.maximum(self.k - fraud_above, 0.0))
            if self.metric == "amount_at_k":
                taken = taken * self.fraud_amount
            caught.append(_binned(self.fraud_day, taken, self.dates.size))
        present = np.add.reduceat(slots, self.day_start, axis=1)  # the same in both rankings
        return present, caught[0], caught[1]

    def daily(self, present: FloatArray, caught: FloatArray) -> FloatArray:
        """Each day's figure from :meth:`per_day`'s: CP@k (NaN on a day without card-days) or
        the amount."""
        if self.metric == "amount_at_k":
            return caught
        alerts = np.minimum(present, self.k)
        out: FloatArray = np.divide(
            caught, alerts, out=np.full_like(caught, np.nan), where=alerts > 0
        )
        return out

    def values(self, fraud_w: FloatArray, legit_w: FloatArray) -> tuple[FloatArray, FloatArray]:
        present, caught_a, caught_b = self.per_day(fraud_w, legit_w)
        if self.metric == "amount_at_k":
            return caught_a.sum(axis=1), caught_b.sum(axis=1)
        return (
            np.nanmean(self.daily(present, caught_a), axis=1),
            np.nanmean(self.daily(present, caught_b), axis=1),
        )

    def point_daily(self) -> DailyValues:
        """Both models' figure on each day of the data (every card-day counted once)."""
        present, caught_a, caught_b = self.per_day(
            self.fraud_sizes[None, :].astype(np.float64),
            self.legit_sizes[None, :].astype(np.float64),
        )
        champion, challenger = self.daily(present, caught_a)[0], self.daily(present, caught_b)[0]
        return {
            day.item(): (float(a), float(b))
            for day, a, b in zip(
                self.dates.astype("datetime64[D]"), champion, challenger, strict=True
            )
        }


def _model(
    paired: Paired, metric: MetricName, review_cost: float, cards_per_day: int | None
) -> _PrMetric | _CostMetric | _CardMetric:
    if metric == "pr_auc":
        return _PrMetric(paired)
    if metric == "cost":
        return _CostMetric(paired, review_cost)
    if cards_per_day is None:
        raise ValueError(f"{metric} needs cards_per_day (FRAUD_CHALLENGER_CARDS_PER_DAY)")
    return _CardMetric(paired, cards_per_day, metric)


def daily_values(paired: Paired, metric: CardMetricName, cards_per_day: int) -> DailyValues:
    """Both models' card metric on each calendar day of ``paired``: date -> (champion,
    challenger). CP@k/day is the mean of the ``cp_at_k`` values, the ``amount_at_k`` figure
    the sum of its values."""
    return _CardMetric(paired, cards_per_day, metric).point_daily()


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
    cards_per_day: int | None = None,
    seed: int = 0,
) -> Comparison:
    """Both models' ``metric`` on ``paired`` with percentile CIs from ``draws`` paired,
    stratified bootstrap draws; the same inputs always give the same answer.

    ``review_cost`` is the cost metric's, ``cards_per_day`` (k) the card metrics' (required
    for them); a card metric's comparison also carries its per-day values.
    """
    if paired.frauds == 0 or paired.frauds == paired.rows:
        raise ValueError("a comparison needs both frauds and legitimate rows")
    model = _model(paired, metric, review_cost, cards_per_day)
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
        cards_per_day=cards_per_day if isinstance(model, _CardMetric) else None,
        daily=model.point_daily() if isinstance(model, _CardMetric) else None,
    )


# -- the rule -----------------------------------------------------------------------------------


def _show(metric: MetricName, value: float) -> str:
    """A share (PR-AUC, CP@k) to four decimals, money (cost, amount) to the cent."""
    return f"{value:.4f}" if metric in {"pr_auc", "cp_at_k"} else f"{value:,.2f}"


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
    if comparison.cards_per_day is not None:
        title += f" (k = {comparison.cards_per_day} cards a day)"
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
