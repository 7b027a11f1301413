"""The metric functions against scikit-learn and against hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from fraudstream.errors import DataRefused
from fraudstream.quality import (
    choose_threshold,
    evaluate,
    natural_rate_weights,
    pr_auc,
    recall_at_fpr,
    roc_auc,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pr_auc_and_roc_auc_agree_with_scikit_learn_with_ties_and_weights(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(5_000) < 0.05).astype(int)
    score = np.round(rng.random(5_000) + y * 0.3, 2)  # rounding makes many ties
    weight = rng.uniform(0.1, 3.0, 5_000)
    assert pr_auc(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert pr_auc(y, score, weight) == pytest.approx(
        average_precision_score(y, score, sample_weight=weight), abs=1e-12
    )
    assert roc_auc(y, score, weight) == pytest.approx(
        roc_auc_score(y, score, sample_weight=weight), abs=1e-12
    )


def test_perfect_and_inverted_rankings() -> None:
    y = [0, 0, 1, 1]
    assert pr_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0


def test_recall_at_one_percent_fpr() -> None:
    y = np.r_[np.zeros(100, int), np.ones(10, int)]
    frauds = np.linspace(0.4, 0.99, 10)  # 0.40, 0.47, 0.53, ... 0.99
    score = np.r_[np.linspace(0, 0.5, 99), 0.95, frauds]
    # one false alarm (1 % of 100) allowed: down to just above the next non-fraud (0.5)
    assert recall_at_fpr(y, score, 0.01) == (frauds > 0.5).mean() == 0.8
    # none allowed: only the fraud above the 0.95 non-fraud
    assert recall_at_fpr(y, score, 0.0) == 0.1
    assert recall_at_fpr(y, score, 1.0) == 1.0


def test_threshold_strategies() -> None:
    y = [0, 0, 0, 0, 1, 0, 1, 1]
    score = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert choose_threshold(y, score, "f1") == 0.5  # 3 frauds, 1 false alarm: F1 0.857
    assert choose_threshold(y, score, "precision", target_precision=1.0) == 0.7
    assert choose_threshold(y, score, "budget", review_budget=0.25) == 0.7
    assert choose_threshold(y, score, "budget", review_budget=0.01) == 0.8


def test_evaluate_counts_and_money() -> None:
    y = [0, 0, 1, 1, 1]
    score = [0.1, 0.9, 0.8, 0.2, 0.95]
    m = evaluate(y, score, 0.5, amount=[10, 20, 100, 50, 300])
    assert (m.true_positives, m.false_positives, m.false_negatives, m.true_negatives) == (
        2,
        1,
        1,
        1,
    )
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    assert m.fraud_amount == 450
    assert m.fraud_amount_caught == 400
    assert m.alert_rate == pytest.approx(0.6)


def test_natural_rate_weights_reproduce_the_base_rate() -> None:
    y = np.r_[np.ones(30, int), np.zeros(70, int)]
    w = natural_rate_weights(y, 0.004)
    assert w[y == 1].sum() / w.sum() == pytest.approx(0.004)


def test_one_class_is_refused() -> None:
    with pytest.raises(DataRefused, match="both frauds and non-frauds"):
        pr_auc([0, 0, 0], [0.1, 0.2, 0.3])
