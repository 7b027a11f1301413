"""Fraud scenarios: how the transactions of one compromised card are drawn.

Each generator takes the anchors of its streaks (the Kaggle-clock second before which none of
the streak's transactions fall) and returns the streak's transactions, unsorted. Every one of
them is a fraud; the engine tags them with the scenario, picks the victims, silences the
victims' own spending during the streak and, for :attr:`Scenario.STREAK_BLOCKED`, after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from fraudstream.schema import CATEGORIES
from fraudstream.simulator.calendar import SECONDS_PER_DAY
from fraudstream.simulator.params import Calibration, Scenario

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_CAT: Final = {name: i for i, name in enumerate(CATEGORIES)}
_TESTING_CATEGORIES: Final = np.array([_CAT["misc_net"], _CAT["shopping_net"]])
_CASH_OUT_CATEGORIES: Final = np.array([_CAT["shopping_net"], _CAT["misc_net"]])
_TRAVEL_CATEGORIES: Final = np.array(
    [_CAT[c] for c in ("travel", "shopping_pos", "food_dining", "gas_transport", "entertainment")]
)
_FAR_KM: Final = (800.0, 3000.0)
_KM_PER_DEGREE: Final = 111.2


class Sampler:
    """Draws from the calibrated distributions, vectorised."""

    def __init__(self, cal: Calibration) -> None:
        self.probs = np.asarray(cal.quantile_probs)
        self.legit_amount = np.log(
            np.array([cal.legit.amount_q[c] for c in CATEGORIES], dtype=np.float64)
        )
        self.fraud_amount = np.log(
            np.array([cal.fraud.amount_q[c] for c in CATEGORIES], dtype=np.float64)
        )
        self.legit_hour_cdf = _cdf(cal.legit.hour_p)
        self.fraud_hour_cdf = _cdf(cal.fraud.hour_p)
        self.fraud_category_cdf = _cdf([cal.fraud.category_p[c] for c in CATEGORIES])
        self.streak_sizes = np.array(list(cal.streak.frauds_p), dtype=np.int64)
        self.streak_size_cdf = _cdf(list(cal.streak.frauds_p.values()))
        self.streak_days = np.array(list(cal.streak.days_p), dtype=np.int64)
        self.streak_days_cdf = _cdf(list(cal.streak.days_p.values()))
        self.offset_deg = cal.merchant_offset_deg

    def amounts(self, u: FloatArray, category: IntArray, fraud: bool) -> FloatArray:
        """Amounts at quantile ``u`` of each row's category (log-linear between knots)."""
        knots = self.fraud_amount if fraud else self.legit_amount
        j = np.clip(np.searchsorted(self.probs, u, side="right"), 1, self.probs.size - 1)
        p0, p1 = self.probs[j - 1], self.probs[j]
        w = np.clip((u - p0) / (p1 - p0), 0.0, 1.0)
        low, high = knots[category, j - 1], knots[category, j]
        return np.asarray(np.round(np.exp(low + w * (high - low)), 2))

    def hours(
        self, rng: np.random.Generator, u: FloatArray | None, n: int, fraud: bool
    ) -> IntArray:
        """Hours of the day, from uniform ``u`` (a copula draw) or fresh ones."""
        cdf = self.fraud_hour_cdf if fraud else self.legit_hour_cdf
        draw = rng.random(n) if u is None else u
        return np.minimum(np.searchsorted(cdf, draw, side="right"), 23).astype(np.int64)

    def fraud_categories(self, rng: np.random.Generator, n: int) -> IntArray:
        cdf = self.fraud_category_cdf
        index = np.searchsorted(cdf, rng.random(n), side="right")
        return np.minimum(index, len(CATEGORIES) - 1).astype(np.int64)

    def streak_sizes_of(self, rng: np.random.Generator, n: int) -> IntArray:
        index = np.searchsorted(self.streak_size_cdf, rng.random(n), side="right")
        return self.streak_sizes[np.minimum(index, self.streak_sizes.size - 1)]

    def streak_days_of(self, rng: np.random.Generator, n: int) -> IntArray:
        index = np.searchsorted(self.streak_days_cdf, rng.random(n), side="right")
        return self.streak_days[np.minimum(index, self.streak_days.size - 1)]

    def near_offsets(self, rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
        """Merchant position relative to home, as real Sparkov rows place it."""
        return (
            rng.uniform(-self.offset_deg, self.offset_deg, n),
            rng.uniform(-self.offset_deg, self.offset_deg, n),
        )


def _cdf(weights: list[float]) -> FloatArray:
    array = np.asarray(weights, dtype=np.float64)
    return np.asarray(np.cumsum(array / array.sum()))


@dataclass(frozen=True, slots=True)
class FraudEvents:
    """Transactions of a set of streaks; ``owner`` indexes the streak each belongs to."""

    owner: IntArray
    t: IntArray
    category: IntArray
    amt: FloatArray
    dlat: FloatArray
    """Merchant latitude minus the victim's home latitude."""
    dlon: FloatArray


def _finish(
    rng: np.random.Generator,
    s: Sampler,
    owner: IntArray,
    t: IntArray,
    category: IntArray,
    amt: FloatArray,
) -> FraudEvents:
    dlat, dlon = s.near_offsets(rng, owner.size)
    return FraudEvents(owner, t, category, amt, dlat, dlon)


def night_spree(
    rng: np.random.Generator, s: Sampler, anchor: IntArray, home_lat: FloatArray
) -> FraudEvents:
    """Real Sparkov fraud: ~10 charges spread over two calendar days, mostly 22:00-03:00.

    Categories, amounts and hours all come from the real frauds (shopping_net, grocery_pos and
    misc_net dominate, with large sums; small ones at gas stations and the like).
    """
    sizes = s.streak_sizes_of(rng, anchor.size)
    days = s.streak_days_of(rng, anchor.size)
    owner = np.repeat(np.arange(anchor.size), sizes)
    n = owner.size
    day = rng.integers(0, days[owner])
    t = anchor[owner] + day * SECONDS_PER_DAY + s.hours(rng, None, n, fraud=True) * 3600
    t = t + rng.integers(0, 3600, n)
    category = s.fraud_categories(rng, n)
    return _finish(rng, s, owner, t, category, s.amounts(rng.random(n), category, fraud=True))


def card_testing(
    rng: np.random.Generator, s: Sampler, anchor: IntArray, home_lat: FloatArray
) -> FraudEvents:
    """A burst of 3-10 tiny online charges a minute or so apart, then one or two cash-outs."""
    tests = rng.integers(3, 11, anchor.size)
    cash_outs = rng.integers(1, 3, anchor.size)
    start = anchor + s.hours(rng, None, anchor.size, fraud=True) * 3600
    start = start + rng.integers(0, 3600, anchor.size)

    t_owner = np.repeat(np.arange(anchor.size), tests)
    gaps = np.rint(rng.exponential(60.0, t_owner.size)).astype(np.int64) + 5
    first = np.concatenate([[0], np.cumsum(tests)[:-1]])
    elapsed = np.cumsum(gaps)
    elapsed = elapsed - np.repeat(elapsed[first] - gaps[first], tests)
    t_test = start[t_owner] + elapsed
    test_cat = _TESTING_CATEGORIES[rng.integers(0, _TESTING_CATEGORIES.size, t_owner.size)]
    test_amt = np.round(rng.uniform(0.5, 4.99, t_owner.size), 2)

    last = elapsed[np.cumsum(tests) - 1]
    c_owner = np.repeat(np.arange(anchor.size), cash_outs)
    t_cash = start[c_owner] + last[c_owner] + rng.integers(600, 3600, c_owner.size)
    cash_cat = _CASH_OUT_CATEGORIES[rng.integers(0, _CASH_OUT_CATEGORIES.size, c_owner.size)]
    cash_amt = s.amounts(rng.uniform(0.5, 1.0, c_owner.size), cash_cat, fraud=True)

    return _finish(
        rng,
        s,
        np.concatenate([t_owner, c_owner]),
        np.concatenate([t_test, t_cash]),
        np.concatenate([test_cat, cash_cat]),
        np.concatenate([test_amt, cash_amt]),
    )


def far_from_home(
    rng: np.random.Generator, s: Sampler, anchor: IntArray, home_lat: FloatArray
) -> FraudEvents:
    """3-8 card-present charges over one or two days, 800-3,000 km from the cardholder's home.

    Daytime hours and travel-like categories (travel, shops, restaurants, fuel), at the high
    end of what those categories usually cost.
    """
    sizes = rng.integers(3, 9, anchor.size)
    owner = np.repeat(np.arange(anchor.size), sizes)
    n = owner.size
    day = rng.integers(0, 2, n)
    t = anchor[owner] + day * SECONDS_PER_DAY + s.hours(rng, None, n, fraud=False) * 3600
    t = t + rng.integers(0, 3600, n)
    category = _TRAVEL_CATEGORIES[rng.integers(0, _TRAVEL_CATEGORIES.size, n)]
    amt = s.amounts(rng.uniform(0.8, 1.0, n), category, fraud=False)
    # One far-away place per streak, then jitter around it like any merchant.
    km = rng.uniform(*_FAR_KM, anchor.size)
    bearing = rng.uniform(0, 2 * np.pi, anchor.size)
    dlat_place = km * np.cos(bearing) / _KM_PER_DEGREE
    lat_place = np.clip(home_lat + dlat_place, -80.0, 80.0)
    dlon_place = km * np.sin(bearing) / (_KM_PER_DEGREE * np.cos(np.radians(lat_place)))
    jitter_lat, jitter_lon = s.near_offsets(rng, n)
    return FraudEvents(
        owner,
        t,
        category,
        amt,
        (lat_place - home_lat)[owner] + jitter_lat,
        dlon_place[owner] + jitter_lon,
    )


def streak_blocked(
    rng: np.random.Generator, s: Sampler, anchor: IntArray, home_lat: FloatArray
) -> FraudEvents:
    """A fast streak of real-looking frauds within hours; then the bank blocks the card.

    The charges follow the calibrated fraud categories and amounts, minutes apart from a
    night-time start; the engine drops every later transaction of the card.
    """
    sizes = s.streak_sizes_of(rng, anchor.size)
    owner = np.repeat(np.arange(anchor.size), sizes)
    n = owner.size
    start = anchor + s.hours(rng, None, anchor.size, fraud=True) * 3600
    gaps = np.rint(rng.exponential(900.0, n)).astype(np.int64) + 30
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    elapsed = np.cumsum(gaps)
    elapsed = elapsed - np.repeat(elapsed[first] - gaps[first], sizes)
    category = s.fraud_categories(rng, n)
    return _finish(
        rng,
        s,
        owner,
        start[owner] + elapsed,
        category,
        s.amounts(rng.random(n), category, fraud=True),
    )


Generator = Callable[[np.random.Generator, Sampler, IntArray, FloatArray], FraudEvents]

GENERATORS: Final[dict[Scenario, Generator]] = {
    Scenario.NIGHT_SPREE: night_spree,
    Scenario.CARD_TESTING: card_testing,
    Scenario.FAR_FROM_HOME: far_from_home,
    Scenario.STREAK_BLOCKED: streak_blocked,
}

BLOCKS_CARD: Final = frozenset({Scenario.STREAK_BLOCKED})
"""Scenarios after which the card never transacts again."""


def mean_size(scenario: Scenario, s: Sampler) -> float:
    """Expected transactions per streak, to turn a fraud rate into a number of streaks."""
    if scenario in (Scenario.NIGHT_SPREE, Scenario.STREAK_BLOCKED):
        p = np.diff(np.concatenate([[0.0], s.streak_size_cdf]))
        return float(np.sum(p * s.streak_sizes))
    if scenario is Scenario.CARD_TESTING:
        return 6.5 + 1.5
    return 5.5
