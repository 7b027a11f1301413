"""The decision's statistics: exact point estimates, a bootstrap that matches the plain one, and a
rule that neither flaps nor promotes on noise."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import average_precision_score

from fraudstream.champion_challenger.decision import (
    Paired,
    compare,
    rule,
    too_few_frauds,
)
from fraudstream.quality import pr_auc

pytestmark = pytest.mark.unit


def _logistic(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1 / (1 + np.exp(-x))
    return out


def paired(
    n: int = 6000,
    rate: float = 0.03,
    *,
    edge: float = 0.0,
    seed: int = 0,
    decimals: int | None = None,
) -> Paired:
    """Champion scores, and challenger scores that separate frauds ``edge`` better (log-odds)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(np.int64)
    base = rng.normal(-3 + 3 * y, 1.3)
    champion = _logistic(base + rng.normal(0, 0.6, n))
    challenger = _logistic(base + edge * y + rng.normal(0, 0.6, n))
    if decimals is not None:  # ties, as a coarse model gives them
        champion, challenger = champion.round(decimals), challenger.round(decimals)
    amounts = np.round(rng.lognormal(3.5, 1.0, n), 2)
    return Paired(y, amounts, champion, challenger, 0.5, 0.4)


@pytest.mark.parametrize("decimals", [None, 2])
def test_point_pr_auc_is_average_precision(decimals: int | None) -> None:
    data = paired(decimals=decimals)
    result = compare(data, "pr_auc", draws=50)
    for value, scores in (
        (result.champion.value, data.champion),
        (result.challenger.value, data.challenger),
    ):
        assert value == pytest.approx(average_precision_score(data.labels, scores), abs=1e-12)
        assert value == pytest.approx(pr_auc(data.labels, scores), abs=1e-12)
    assert result.difference.value == pytest.approx(result.challenger.value - result.champion.value)


def test_point_cost_is_flagged_fraud_amount_minus_review_cost() -> None:
    data = paired()
    result = compare(data, "cost", draws=50, review_cost=7.5)
    for value, scores, threshold in (
        (result.champion.value, data.champion, data.champion_threshold),
        (result.challenger.value, data.challenger, data.challenger_threshold),
    ):
        flagged = scores >= threshold
        expected = data.amounts[flagged & (data.labels == 1)].sum() - 7.5 * flagged.sum()
        assert value == pytest.approx(expected)


def _plain_bootstrap(
    data: Paired, draws: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Resample rows by index, class by class: the textbook paired stratified bootstrap."""
    rng = np.random.default_rng(seed)
    frauds, legit = np.flatnonzero(data.labels == 1), np.flatnonzero(data.labels == 0)
    champion, difference = np.empty(draws), np.empty(draws)
    for i in range(draws):
        rows = np.r_[rng.choice(frauds, frauds.size), rng.choice(legit, legit.size)]
        a = average_precision_score(data.labels[rows], data.champion[rows])
        b = average_precision_score(data.labels[rows], data.challenger[rows])
        champion[i], difference[i] = a, b - a
    return champion, difference


def test_bootstrap_intervals_match_the_plain_bootstrap() -> None:
    """Cells and multinomial counts are the same resampling as drawing row indices: the two
    sets of intervals agree within their own Monte Carlo noise."""
    data = paired(n=3000, rate=0.05, edge=0.4, seed=3)
    fast = compare(data, "pr_auc", draws=600, seed=1)
    champion, difference = _plain_bootstrap(data, 600, seed=2)
    width = np.quantile(difference, 0.975) - np.quantile(difference, 0.025)
    assert fast.difference.ci_low == pytest.approx(np.quantile(difference, 0.025), abs=0.15 * width)
    assert fast.difference.ci_high == pytest.approx(
        np.quantile(difference, 0.975), abs=0.15 * width
    )
    spread = np.quantile(champion, 0.975) - np.quantile(champion, 0.025)
    assert fast.champion.ci_low == pytest.approx(np.quantile(champion, 0.025), abs=0.15 * spread)


def test_pairing_narrows_the_difference_interval() -> None:
    """Both models err on the same hard rows, so the paired difference is far tighter than the
    two separate intervals would suggest: that is what lets a real edge show on a small window."""
    result = compare(paired(edge=0.5, seed=4), "pr_auc", draws=300)
    separate = (result.champion.ci_high - result.champion.ci_low) + (
        result.challenger.ci_high - result.challenger.ci_low
    )
    assert result.difference.ci_high - result.difference.ci_low < 0.5 * separate


def test_the_same_rows_always_give_the_same_decision() -> None:
    data = paired(edge=0.05, seed=5)
    rulings = {rule(compare(data, "pr_auc", draws=200, seed=7)) for _ in range(10)}
    assert len(rulings) == 1


def test_equal_models_are_kept_whatever_the_noise() -> None:
    """Same quality, different noise: the interval straddles zero and the champion stays."""
    actions = [rule(compare(paired(seed=s), "pr_auc", draws=200)).action for s in range(10)]
    assert actions == ["kept"] * 10


def test_a_clearly_better_challenger_is_promoted_and_a_worse_one_kept() -> None:
    better = compare(paired(edge=1.5, seed=6), "pr_auc", draws=200)
    verdict = rule(better)
    assert verdict.action == "promoted"
    assert better.difference.ci_low > 0
    assert "better by" in verdict.reason
    worse = compare(paired(edge=-1.5, seed=6), "pr_auc", draws=200)
    assert rule(worse).action == "kept"
    assert worse.difference.ci_high < 0


def test_the_margin_must_be_cleared_by_the_interval_not_the_point() -> None:
    result = compare(paired(edge=1.5, seed=6), "pr_auc", draws=200)
    assert rule(result, margin=result.difference.ci_low - 1e-6).action == "promoted"
    assert rule(result, margin=result.difference.ci_low + 1e-6).action == "kept"
    assert result.difference.value > result.difference.ci_low  # the point alone would promote


def test_cost_metric_promotes_a_challenger_that_catches_more_money() -> None:
    result = compare(paired(edge=2.0, seed=8), "cost", draws=200, review_cost=2.0)
    assert result.challenger.value > result.champion.value
    assert rule(result).action == "promoted"
    assert "net amount" in rule(result).reason


def test_too_few_frauds_is_no_decision_with_the_setting_to_change() -> None:
    ruling = too_few_frauds(12, 4000, 30)
    assert ruling is not None
    assert ruling.action == "no_decision"
    assert "12 labelled frauds" in ruling.reason
    assert "FRAUD_CHALLENGER_MIN_FRAUDS" in ruling.reason
    assert too_few_frauds(30, 4000, 30) is None


def test_inputs_that_cannot_be_compared_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        Paired(np.zeros(3, np.int64), np.zeros(3), np.zeros(3), np.zeros(2), 0.5, 0.5)
    no_fraud = Paired(np.zeros(5, np.int64), np.ones(5), np.zeros(5), np.zeros(5), 0.5, 0.5)
    with pytest.raises(ValueError, match="both frauds and legitimate"):
        compare(no_fraud)
