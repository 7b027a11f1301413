"""Model-quality metrics for fraud: pure functions of labels, scores and amounts.

Not to be confused with the Prometheus gauges and counters each component publishes from its
own ``metrics.py``: these measure how well a model separates frauds, not how a process runs.

The trainer reports them on its held-out slice; the champion/challenger job compares two models
with them on recent labelled data. PR-AUC (average precision) is the headline: with about 0.5 %
fraud, ROC-AUC stays near 1 for models that still flood analysts with false alarms.

Every function takes optional ``weight`` (one weight per row) so that a fraud-enriched sample
can be re-weighted to the natural base rate: give each non-fraud the weight
``(frauds / natural_rate - frauds) / non_frauds`` and each fraud 1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from fraudstream.errors import DataRefused

Array = npt.ArrayLike
Strategy = Literal["f1", "precision", "budget"]


class Metrics(BaseModel):
    """The quality of one model on one labelled set, at one threshold."""

    model_config = ConfigDict(frozen=True)

    rows: int
    frauds: int
    pr_auc: float
    roc_auc: float
    threshold: float
    precision: float
    recall: float
    f1: float
    recall_at_1pct_fpr: float
    alert_rate: float
    """Share of transactions flagged (what analysts must review)."""
    fraud_amount: float
    fraud_amount_caught: float
    fraud_amount_caught_share: float
    true_positives: float
    false_positives: float
    false_negatives: float
    true_negatives: float


def _arrays(
    y: Array, score: Array, weight: Array | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    labels = np.asarray(y, dtype=np.int64)
    scores = np.asarray(score, dtype=np.float64)
    weights = np.ones(len(labels)) if weight is None else np.asarray(weight, dtype=np.float64)
    if not (len(labels) == len(scores) == len(weights)):
        raise ValueError("labels, scores and weights must have the same length")
    return labels, scores, weights


def _curve(
    y: Array, score: Array, weight: Array | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Cumulative weighted true and false positives at each distinct score, highest first."""
    labels, scores, weights = _arrays(y, score, weight)
    order = np.argsort(-scores, kind="stable")
    s, lab, w = scores[order], labels[order], weights[order]
    tp = np.cumsum(w * lab)
    fp = np.cumsum(w * (1 - lab))
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1] if len(s) else np.array([], dtype=int)
    return tp[last], fp[last], s[last]


def _require_both_classes(y: Array) -> None:
    labels = np.asarray(y)
    if labels.size == 0 or labels.min() == labels.max():
        raise DataRefused("metrics need both frauds and non-frauds among the labelled rows")


def pr_auc(y: Array, score: Array, weight: Array | None = None) -> float:
    """Average precision: the precision at each fraud's score, averaged over frauds (step-wise,
    no optimistic interpolation; scikit-learn's ``average_precision_score``)."""
    _require_both_classes(y)
    tp, fp, _ = _curve(y, score, weight)
    precision = tp / (tp + fp)
    recall_step = np.diff(np.r_[0.0, tp]) / tp[-1]
    return float(np.sum(recall_step * precision))


def roc_auc(y: Array, score: Array, weight: Array | None = None) -> float:
    """Probability that a fraud outscores a non-fraud (ties count half)."""
    _require_both_classes(y)
    tp, fp, _ = _curve(y, score, weight)
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    return float(np.trapezoid(tpr, fpr))


def recall_at_fpr(y: Array, score: Array, fpr: float = 0.01, weight: Array | None = None) -> float:
    """The largest recall reachable while flagging at most ``fpr`` of the non-frauds."""
    _require_both_classes(y)
    tp, fp, _ = _curve(y, score, weight)
    ok = fp / fp[-1] <= fpr
    return float(tp[ok].max() / tp[-1]) if ok.any() else 0.0


def pr_curve(
    y: Array, score: Array, weight: Array | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(precision, recall, threshold) at each distinct score, highest threshold first."""
    _require_both_classes(y)
    tp, fp, thresholds = _curve(y, score, weight)
    return tp / (tp + fp), tp / tp[-1], thresholds


def choose_threshold(
    y: Array,
    score: Array,
    strategy: Strategy = "f1",
    *,
    target_precision: float = 0.9,
    review_budget: float = 0.005,
) -> float:
    """The decision threshold, chosen on validation data (never on the test slice).

    ``f1``: the best F1. ``precision``: the lowest threshold whose precision reaches the target
    (most recall at that precision), or the best-precision one when none does. ``budget``: flag
    at most ``review_budget`` of all transactions (what the analysts can review).
    """
    _require_both_classes(y)
    tp, fp, thresholds = _curve(y, score, None)
    precision, recall = tp / (tp + fp), tp / tp[-1]
    if strategy == "f1":
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
        return float(thresholds[int(np.argmax(f1))])
    if strategy == "precision":
        reached = np.flatnonzero(precision >= target_precision)
        index = int(reached[-1]) if reached.size else int(np.argmax(precision))
        return float(thresholds[index])
    flagged = (tp + fp) / (tp[-1] + fp[-1])
    within = np.flatnonzero(flagged <= review_budget)
    return float(thresholds[int(within[-1])] if within.size else thresholds[0])


def evaluate(
    y: Array,
    score: Array,
    threshold: float,
    *,
    amount: Array | None = None,
    weight: Array | None = None,
) -> Metrics:
    """Every metric of one model on one labelled set; a row is flagged when score >= threshold."""
    labels, scores, weights = _arrays(y, score, weight)
    amounts = np.zeros(len(labels)) if amount is None else np.asarray(amount, dtype=np.float64)
    flagged = scores >= threshold
    fraud = labels == 1
    tp = float(weights[flagged & fraud].sum())
    fp = float(weights[flagged & ~fraud].sum())
    fn = float(weights[~flagged & fraud].sum())
    tn = float(weights[~flagged & ~fraud].sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fraud_amount = float(amounts[fraud].sum())
    caught = float(amounts[fraud & flagged].sum())
    return Metrics(
        rows=len(labels),
        frauds=int(fraud.sum()),
        pr_auc=pr_auc(labels, scores, weights),
        roc_auc=roc_auc(labels, scores, weights),
        threshold=float(threshold),
        precision=precision,
        recall=recall,
        f1=f1,
        recall_at_1pct_fpr=recall_at_fpr(labels, scores, 0.01, weights),
        alert_rate=float(weights[flagged].sum() / weights.sum()),
        fraud_amount=fraud_amount,
        fraud_amount_caught=caught,
        fraud_amount_caught_share=caught / fraud_amount if fraud_amount else 0.0,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
    )


def natural_rate_weights(y: Array, natural_rate: float) -> npt.NDArray[np.float64]:
    """Weights that make a fraud-enriched sample look like a stream with ``natural_rate`` fraud:
    each fraud weighs 1, each non-fraud ``frauds * (1 - rate) / (rate * non_frauds)``."""
    labels = np.asarray(y, dtype=np.int64)
    frauds = int(labels.sum())
    non_frauds = len(labels) - frauds
    if not frauds or not non_frauds:
        raise DataRefused("re-weighting needs both frauds and non-frauds")
    w_non = frauds * (1 - natural_rate) / (natural_rate * non_frauds)
    return np.where(labels == 1, 1.0, w_non)
