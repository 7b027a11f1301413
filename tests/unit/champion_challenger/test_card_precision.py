"""Card precision top-k per day (CP@k/day) and the fraud amount in the top k: the point values
equal a plain pandas reading of the Fraud Detection Handbook's definition, the bootstrap over
card-days behaves like one, and the rule reads them."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fraudstream.champion_challenger.decision import (
    CardMetricName,
    Paired,
    _CardMetric,
    compare,
    daily_values,
    rule,
)

pytestmark = pytest.mark.unit

DAY0 = 17_897  # 2019-01-01, as days since 1970-01-01


def _logistic(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1 / (1 + np.exp(-x))
    return out


def card_rows(
    *,
    days: int = 7,
    cards: int = 300,
    per_card_day: float = 2.5,
    rate: float = 0.03,
    edge: float = 0.0,
    seed: int = 0,
    decimals: int | None = None,
) -> Paired:
    """Transactions of ``cards`` cards over ``days`` days; a share ``rate`` of the card-days is
    compromised (most of its transactions fraud); the challenger separates frauds ``edge``
    better (log-odds). ``decimals`` rounds the scores, as a coarse model ties them."""
    rng = np.random.default_rng(seed)
    n = int(days * cards * per_card_day)
    holder = rng.integers(0, cards, n)
    offset = rng.integers(0, days, n)
    compromised = rng.random((days, cards)) < rate
    labels = (compromised[offset, holder] & (rng.random(n) < 0.7)).astype(np.int64)
    card = holder.astype(np.int64) + 4_000_000_000_000_000  # Sparkov-sized card numbers
    day = offset.astype(np.int64) + DAY0
    base = rng.normal(-3 + 2.5 * labels, 1.3)
    champion = _logistic(base + rng.normal(0, 0.6, n))
    challenger = _logistic(base + edge * labels + rng.normal(0, 0.6, n))
    if decimals is not None:
        champion, challenger = champion.round(decimals), challenger.round(decimals)
    amounts = np.round(rng.lognormal(3.5, 1.0, n), 2)
    return Paired(labels, amounts, champion, challenger, 0.5, 0.5, cards=card, days=day)


def reference(data: Paired, k: int) -> pd.DataFrame:
    """The Handbook's definition read literally with pandas: per day and model, CP@k and the
    fraud amount of the top-k cards (a card scored by its highest score of the day; ties by
    card number)."""
    rows = pd.DataFrame(
        {
            "day": data.days,
            "card": data.cards,
            "fraud": data.labels,
            "fraud_amt": np.where(data.labels == 1, data.amounts, 0.0),
            "champion": data.champion,
            "challenger": data.challenger,
        }
    )
    out = {}
    for model in ("champion", "challenger"):
        card_days = (
            rows.groupby(["day", "card"])
            .agg(score=(model, "max"), fraud=("fraud", "max"), fraud_amt=("fraud_amt", "sum"))
            .reset_index()
            .sort_values(["day", "score", "card"], ascending=[True, False, True])
        )
        top = card_days.groupby("day").head(k).groupby("day")
        cards_that_day = card_days.groupby("day").size()
        out[f"{model}_cp"] = top["fraud"].sum() / np.minimum(cards_that_day, k)
        out[f"{model}_amount"] = top["fraud_amt"].sum()
    return pd.DataFrame(out)


@pytest.mark.parametrize(("seed", "k", "decimals"), [(0, 5, None), (1, 20, None), (2, 10, 1)])
def test_point_values_are_the_handbooks_definition(seed: int, k: int, decimals: int | None) -> None:
    data = card_rows(seed=seed, edge=0.5, decimals=decimals)
    expected = reference(data, k)
    cp = compare(data, "cp_at_k", draws=50, cards_per_day=k)
    amount = compare(data, "amount_at_k", draws=50, cards_per_day=k)
    assert cp.champion.value == pytest.approx(expected["champion_cp"].mean(), abs=1e-12)
    assert cp.challenger.value == pytest.approx(expected["challenger_cp"].mean(), abs=1e-12)
    assert amount.champion.value == pytest.approx(expected["champion_amount"].sum(), rel=1e-12)
    assert amount.challenger.value == pytest.approx(expected["challenger_amount"].sum(), rel=1e-12)
    assert cp.difference.value == pytest.approx(cp.challenger.value - cp.champion.value)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 12),
    cards=st.integers(2, 40),
    decimals=st.sampled_from([None, 1, 2]),
)
def test_daily_values_are_the_handbooks_definition_on_any_data(
    seed: int, k: int, cards: int, decimals: int | None
) -> None:
    """Small populations, coarse scores and k near the number of cards: ties everywhere, and
    days with fewer cards than k."""
    data = card_rows(days=4, cards=cards, per_card_day=1.5, rate=0.2, seed=seed, decimals=decimals)
    card_days = set(zip(data.days.tolist(), data.cards.tolist(), strict=True))
    frauds = {(d, c) for d, c, y in zip(data.days, data.cards, data.labels, strict=True) if y}
    assume(frauds and frauds != card_days)  # refused otherwise (tested below)
    expected = reference(data, k)
    for metric, column in (("cp_at_k", "cp"), ("amount_at_k", "amount")):
        shown = daily_values(data, metric, k)
        assert list(shown) == [
            np.datetime64(int(d), "D").item() for d in sorted(expected.index.tolist())
        ]
        got = np.array(list(shown.values()))
        assert got[:, 0] == pytest.approx(expected[f"champion_{column}"].to_numpy(), abs=1e-9)
        assert got[:, 1] == pytest.approx(expected[f"challenger_{column}"].to_numpy(), abs=1e-9)


def _hand(
    rows: list[tuple[int, int, int, float, float, float]],
) -> Paired:
    """(day offset, card, fraud, amount, champion score, challenger score) per transaction."""
    day, card, fraud, amount, champion, challenger = (np.array(c) for c in zip(*rows, strict=True))
    return Paired(
        fraud.astype(np.int64),
        amount.astype(np.float64),
        champion.astype(np.float64),
        challenger.astype(np.float64),
        0.5,
        0.5,
        cards=card.astype(np.int64),
        days=day.astype(np.int64) + DAY0,
    )


HAND = _hand(
    [
        # day 0: four cards; cards 1 and 3 have a fraud
        (0, 1, 1, 100.0, 0.9, 0.6),
        (0, 1, 0, 5.0, 0.1, 0.1),
        (0, 2, 0, 10.0, 0.8, 0.65),
        (0, 3, 1, 40.0, 0.3, 0.95),
        (0, 4, 0, 20.0, 0.2, 0.7),
        # day 1: three cards; card 2 has a fraud, which both models miss at k = 2
        (1, 2, 1, 70.0, 0.05, 0.1),
        (1, 5, 0, 30.0, 0.6, 0.6),
        (1, 6, 0, 30.0, 0.7, 0.5),
    ]
)


def test_a_hand_made_window_gives_the_figures_worked_out_by_hand() -> None:
    """k = 2. Day 0: the champion's top two are cards 1 (0.9, fraud) and 2 (0.8): 1/2; the
    challenger's are 3 (0.95, fraud) and 4 (0.7): 1/2. Day 1: neither puts card 2 in its top
    two: 0 and 0. CP@2/day: 0.25 each; amounts: 100 (card 1) and 40 (card 3)."""
    assert daily_values(HAND, "cp_at_k", 2) == {
        date(2019, 1, 1): (0.5, 0.5),
        date(2019, 1, 2): (0.0, 0.0),
    }
    assert daily_values(HAND, "amount_at_k", 2) == {
        date(2019, 1, 1): (100.0, 40.0),
        date(2019, 1, 2): (0.0, 0.0),
    }
    result = compare(HAND, "cp_at_k", draws=50, cards_per_day=2)
    assert (result.champion.value, result.challenger.value) == (0.25, 0.25)
    assert result.cards_per_day == 2
    assert result.daily == daily_values(HAND, "cp_at_k", 2)
    # k = 3: day 0, the champion adds card 3 (0.3, fraud): 2/3, the challenger card 2 (0.65):
    # 1/3; day 1 has three cards and each model reviews them all: 1/3
    assert daily_values(HAND, "cp_at_k", 3) == {
        date(2019, 1, 1): (pytest.approx(2 / 3), pytest.approx(1 / 3)),
        date(2019, 1, 2): (pytest.approx(1 / 3), pytest.approx(1 / 3)),
    }


def test_cards_are_ranked_not_transactions() -> None:
    """A legitimate card with five high scores takes one place of the top k, not five."""
    busy = [(0, 7, 0, 10.0, 0.99 - i / 100, 0.99 - i / 100) for i in range(5)]
    data = _hand([*busy, (0, 8, 1, 60.0, 0.9, 0.9), (0, 9, 0, 10.0, 0.1, 0.1)])
    assert daily_values(data, "cp_at_k", 2) == {date(2019, 1, 1): (0.5, 0.5)}
    assert daily_values(data, "amount_at_k", 2) == {date(2019, 1, 1): (60.0, 60.0)}


def test_the_window_figure_is_the_mean_of_the_days_not_the_pooled_share() -> None:
    """k = 2. Day 0 has a single card, a fraud: 1/1. Day 1 has seven cards, its fraud ranked
    last: 0/2. The mean of the days is 0.5; pooled over the alerts (1 of 3) it would be 1/3."""
    day1 = [(1, c, 0, 5.0, 0.8 - c / 100, 0.8 - c / 100) for c in range(10, 16)]
    data = _hand([(0, 1, 1, 50.0, 0.9, 0.9), *day1, (1, 30, 1, 80.0, 0.01, 0.01)])
    result = compare(data, "cp_at_k", draws=50, cards_per_day=2)
    assert result.champion.value == pytest.approx(0.5)
    assert result.daily == {date(2019, 1, 1): (1.0, 1.0), date(2019, 1, 2): (0.0, 0.0)}
    amount = compare(data, "amount_at_k", draws=50, cards_per_day=2)
    assert amount.champion.value == pytest.approx(50.0)  # the sum over the days


def test_a_day_with_fewer_cards_than_k_divides_by_its_cards() -> None:
    """Three cards, one fraud, k = 5: the team reviews all three, and one in three was fraud."""
    data = _hand([(0, 1, 1, 50.0, 0.2, 0.9), (0, 2, 0, 5.0, 0.5, 0.5), (0, 3, 0, 5.0, 0.4, 0.1)])
    assert daily_values(data, "cp_at_k", 5) == {
        date(2019, 1, 1): (pytest.approx(1 / 3), pytest.approx(1 / 3))
    }


def test_ties_break_by_card_number_the_same_for_both_models() -> None:
    """Equal scores everywhere: the lower card number ranks first, for both models alike, so
    two identical models differ by exactly nothing in every draw."""
    data = _hand([(0, 2, 1, 50.0, 0.5, 0.5), (0, 1, 0, 5.0, 0.5, 0.5), (0, 3, 1, 5.0, 0.5, 0.5)])
    assert daily_values(data, "cp_at_k", 1) == {date(2019, 1, 1): (0.0, 0.0)}  # card 1
    assert daily_values(data, "cp_at_k", 2) == {date(2019, 1, 1): (0.5, 0.5)}  # cards 1, 2
    same = card_rows(seed=3, decimals=1)
    twins = Paired(
        same.labels,
        same.amounts,
        same.champion,
        same.champion.copy(),
        0.5,
        0.5,
        cards=same.cards,
        days=same.days,
    )
    result = compare(twins, "cp_at_k", draws=100, cards_per_day=10)
    assert (result.difference.ci_low, result.difference.ci_high) == (0.0, 0.0)


def test_a_card_day_drawn_w_times_stands_w_times_and_the_kth_place_is_shared() -> None:
    """k = 2; card 1 (legitimate, 0.9) above card 2 (fraud, 0.8) above card 3 (legitimate).
    Card 2 drawn three times behind one card 1: one copy fits the top two (1/2). Drawn three
    times with card 1 left out: two copies fill the top two (2/2, never 3/2)."""
    data = _hand([(0, 1, 0, 5.0, 0.9, 0.9), (0, 2, 1, 70.0, 0.8, 0.8), (0, 3, 0, 5.0, 0.1, 0.1)])
    metric = _CardMetric(data, 2, "cp_at_k")
    assert metric.legit_sizes.tolist() == [1, 1]  # card 1 above the fraud, card 3 below
    fraud_w = np.array([[3.0], [3.0]])
    legit_w = np.array([[1.0, 0.0], [0.0, 1.0]])
    champion, challenger = metric.values(fraud_w, legit_w)
    assert champion.tolist() == [0.5, 1.0]
    assert challenger.tolist() == [0.5, 1.0]
    amount, _ = _CardMetric(data, 2, "amount_at_k").values(fraud_w, legit_w)
    assert amount.tolist() == [70.0, 140.0]
    assert _CardMetric(data, 5, "cp_at_k").values(fraud_w, legit_w)[0].tolist() == [0.75, 0.75]


def _plain_bootstrap(data: Paired, k: int, draws: int, seed: int) -> npt.NDArray[np.float64]:
    """Champion's CP@k/day over resampled card-days drawn by index (fraud and legitimate
    card-days separately), each drawn copy a card of its own: the textbook bootstrap."""
    frame = pd.DataFrame(
        {"day": data.days, "card": data.cards, "fraud": data.labels, "score": data.champion}
    )
    card_days = frame.groupby(["day", "card"]).agg(score=("score", "max"), fraud=("fraud", "max"))
    day = card_days.index.get_level_values("day").to_numpy()
    score, fraud = card_days["score"].to_numpy(), card_days["fraud"].to_numpy()
    frauds, legit = np.flatnonzero(fraud == 1), np.flatnonzero(fraud == 0)
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for i in range(draws):
        pick = np.r_[rng.choice(frauds, frauds.size), rng.choice(legit, legit.size)]
        order = np.lexsort((-score[pick], day[pick]))
        d, f = day[pick][order], fraud[pick][order]
        place = np.arange(d.size) - np.searchsorted(d, d)
        days_present, n_cards = np.unique(d, return_counts=True)
        caught = np.bincount(np.searchsorted(days_present, d), weights=f * (place < k))
        out[i] = np.mean(caught / np.minimum(n_cards, k))
    return out


def test_the_card_day_bootstrap_matches_the_plain_one() -> None:
    """Cells, weights and the partial count at the k-th place are the same resampling as
    drawing card-days by index: the intervals agree within their Monte Carlo noise."""
    data = card_rows(days=5, cards=200, rate=0.05, seed=4)
    fast = compare(data, "cp_at_k", draws=600, cards_per_day=10, seed=1)
    plain = _plain_bootstrap(data, 10, 600, seed=2)
    width = np.quantile(plain, 0.975) - np.quantile(plain, 0.025)
    assert width > 0
    assert fast.champion.ci_low == pytest.approx(np.quantile(plain, 0.025), abs=0.15 * width)
    assert fast.champion.ci_high == pytest.approx(np.quantile(plain, 0.975), abs=0.15 * width)


@pytest.mark.parametrize("metric", ["cp_at_k", "amount_at_k"])
def test_the_interval_holds_the_point_and_narrows_with_more_days(metric: CardMetricName) -> None:
    short = compare(card_rows(days=5, seed=5), metric, draws=300, cards_per_day=10)
    long = compare(card_rows(days=40, seed=5), metric, draws=300, cards_per_day=10)
    for result in (short, long):
        for estimate in (result.champion, result.challenger, result.difference):
            assert estimate.ci_low <= estimate.value <= estimate.ci_high
    if metric == "cp_at_k":  # a mean narrows; a sum over more days grows, relative to itself
        assert long.champion.ci_high - long.champion.ci_low < 0.6 * (
            short.champion.ci_high - short.champion.ci_low
        )
    else:
        relative = [
            (r.champion.ci_high - r.champion.ci_low) / r.champion.value for r in (short, long)
        ]
        assert relative[1] < 0.6 * relative[0]


def test_the_same_seed_gives_the_same_answer() -> None:
    data = card_rows(edge=0.3, seed=6)
    first = compare(data, "cp_at_k", draws=200, cards_per_day=10, seed=7)
    assert compare(data, "cp_at_k", draws=200, cards_per_day=10, seed=7) == first
    other = compare(data, "cp_at_k", draws=200, cards_per_day=10, seed=8)
    assert other.champion.value == first.champion.value  # the point does not depend on it
    assert (other.difference.ci_low, other.difference.ci_high) != (
        first.difference.ci_low,
        first.difference.ci_high,
    )


def test_a_challenger_that_ranks_fraud_cards_higher_is_promoted() -> None:
    data = card_rows(days=14, edge=2.5, seed=8)
    result = compare(data, "cp_at_k", draws=300, cards_per_day=10)
    assert result.difference.ci_low > 0
    ruling = rule(result)
    assert ruling.action == "promoted"
    assert "CP@k/day (k = 10 cards a day)" in ruling.reason
    assert f"challenger CP@k/day (k = 10 cards a day) {result.challenger.value:.4f}" in (
        ruling.reason
    )
    money = compare(data, "amount_at_k", draws=300, cards_per_day=10)
    ruling = rule(money)
    assert ruling.action == "promoted"
    assert f"{money.challenger.value:,.2f}" in ruling.reason
    worse = compare(card_rows(days=14, edge=-2.5, seed=8), "cp_at_k", draws=300, cards_per_day=10)
    assert rule(worse).action == "kept"


def test_equal_models_are_kept() -> None:
    actions = [
        rule(compare(card_rows(seed=s), "cp_at_k", draws=200, cards_per_day=10)).action
        for s in range(5)
    ]
    assert actions == ["kept"] * 5


def test_a_card_metric_without_its_inputs_is_refused() -> None:
    no_cards = Paired(HAND.labels, HAND.amounts, HAND.champion, HAND.challenger, 0.5, 0.5)
    with pytest.raises(ValueError, match="cards= and days="):
        compare(no_cards, "cp_at_k", cards_per_day=2)
    with pytest.raises(ValueError, match="FRAUD_CHALLENGER_CARDS_PER_DAY"):
        compare(HAND, "cp_at_k")
    with pytest.raises(ValueError, match="go together"):
        Paired(
            HAND.labels, HAND.amounts, HAND.champion, HAND.challenger, 0.5, 0.5, cards=HAND.cards
        )
    with pytest.raises(ValueError, match="one value per row"):
        Paired(
            HAND.labels,
            HAND.amounts,
            HAND.champion,
            HAND.challenger,
            0.5,
            0.5,
            cards=HAND.cards,
            days=HAND.days[:-1],
        )
    every_card_day_a_fraud = _hand([(0, 1, 1, 5.0, 0.5, 0.5), (0, 1, 0, 5.0, 0.2, 0.2)])
    with pytest.raises(ValueError, match="card-days with frauds and card-days without"):
        compare(every_card_day_a_fraud, "cp_at_k", cards_per_day=2)
    assert compare(HAND, "pr_auc", draws=50).daily is None  # the row metrics need none of it
