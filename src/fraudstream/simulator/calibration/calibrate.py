"""Derive the simulator's default parameters from real Sparkov rows.

Run by ``fraudstream report calibrate --real PATH``; its output is the committed
``params.json``, and a test re-derives it from the real file to prove the two agree. Everything
here is an aggregate (shares, quantiles, counts) and deterministic: no randomness, and every
number is rounded to six significant digits so the file is stable across platforms.

Which rows stand for which feature is decided in :mod:`.real_profile`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from fraudstream.errors import DataRefused
from fraudstream.schema import CATEGORIES
from fraudstream.simulator.calibration.real_profile import (
    DENSE_WINDOWS,
    DenseWindow,
    calendar_reference,
    derived_columns,
    in_dense_windows,
    load_real,
)
from fraudstream.simulator.params import (
    CALIBRATION_FILE,
    ActivityProfile,
    Calibration,
    ClassProfile,
    HabitProfile,
    StreakProfile,
)

QUANTILE_PROBS: Final = (
    0.0,
    0.005,
    0.01,
    *(round(0.025 * i, 3) for i in range(1, 40)),
    0.99,
    0.995,
    1.0,
)
"""Knots of every quantile function: dense in the tails, where amounts spread out."""

STREAK_SINCE: Final = datetime(2020, 6, 21, 12, 14)
"""fraudTest's first row: from here on the sample holds every fraud, so streaks are whole."""

MIN_ROWS: Final = 30


def _r(value: float) -> float:
    return float(f"{value:.6g}")


def _shares(values: pd.Series, labels: tuple[str, ...] | range) -> list[float]:
    counts = values.value_counts()
    total = float(counts.sum())
    return [_r(float(counts.get(label, 0)) / total) for label in labels]


def _quantiles(values: pd.Series | np.ndarray) -> list[float]:
    array = np.asarray(values, dtype=np.float64)
    return [_r(v) for v in np.quantile(array, QUANTILE_PROBS)]


def class_profile(rows: pd.DataFrame, calendar: pd.DataFrame) -> ClassProfile:
    """One class's distributions; ``calendar`` gives its hours and weekdays."""
    if len(rows) < MIN_ROWS or len(calendar) < MIN_ROWS:
        raise DataRefused(f"too few rows to calibrate a class: {len(rows)} ({MIN_ROWS} needed)")
    by_category = rows.groupby("category")["amt"]
    missing = [c for c in CATEGORIES if c not in by_category.groups]
    if missing:
        raise DataRefused(f"no real rows in categories {', '.join(missing)}: cannot calibrate")
    return ClassProfile(
        rows=len(rows),
        category_p=dict(zip(CATEGORIES, _shares(rows["category"], CATEGORIES), strict=True)),
        hour_p=_shares(calendar["hour"], range(24)),
        weekday_p=_shares(calendar["weekday"], range(7)),
        amount_q={c: _quantiles(by_category.get_group(c)) for c in CATEGORIES},
        age_q=_quantiles(rows["age"]),
        city_pop_q=_quantiles(rows["city_pop"]),
        female_share=_r(float((rows["gender"] == "F").mean())),
    )


def streak_profile(derived: pd.DataFrame) -> StreakProfile:
    """Frauds per compromised card and calendar days per streak, over complete streaks."""
    frauds = derived[(derived["is_fraud"] == 1) & (derived["ts"] >= STREAK_SINCE)]
    if frauds.empty:
        raise DataRefused(f"no frauds after {STREAK_SINCE}: cannot measure fraud streaks")
    per_card = frauds.groupby("cc_num")
    counts = per_card.size()
    days = per_card["ts"].agg(lambda s: s.dt.normalize().nunique())

    def pmf(series: pd.Series) -> dict[int, float]:
        shares = series.value_counts(normalize=True).sort_index()
        keys = shares.index.to_numpy(dtype=np.int64).tolist()
        return {k: _r(v) for k, v in zip(keys, shares.to_numpy().tolist(), strict=True)}

    return StreakProfile(cards=len(counts), frauds_p=pmf(counts), days_p=pmf(days))


def window_exposure(window: DenseWindow, hour_p: list[float], weekday_p: list[float]) -> float:
    """Average days' worth of traffic a window covers, given the hour and weekday profiles."""
    exposure = 0.0
    slot = window.start.replace(minute=0, second=0)
    while slot < window.end:
        nxt = slot + timedelta(hours=1)
        covered = (min(nxt, window.end) - max(slot, window.start)).total_seconds() / 3600
        exposure += covered * 7 * weekday_p[slot.weekday()] * hour_p[slot.hour]
        slot = nxt
    return exposure


def window_card_rates(
    derived: pd.DataFrame, window: DenseWindow, hour_p: list[float], weekday_p: list[float]
) -> pd.Series:
    """Legitimate transactions per average day of each card seen in a dense window."""
    inside = derived[
        (derived["ts"] >= window.start) & (derived["ts"] < window.end) & (derived["is_fraud"] == 0)
    ]
    return inside.groupby("cc_num").size() / window_exposure(window, hour_p, weekday_p)


def activity_profile(derived: pd.DataFrame, legit: ClassProfile) -> ActivityProfile:
    """Mean daily rate per card and how much cards differ, from the dense windows.

    A card's count in a window is Poisson around its own rate, so the spread of rates between
    cards is the variance of counts minus their mean (the Poisson part); the Gamma shape is
    the inverse of that squared coefficient of variation.
    """
    means: dict[str, float] = {}
    shapes: list[float] = []
    weights: list[int] = []
    for window in DENSE_WINDOWS:
        exposure = window_exposure(window, legit.hour_p, legit.weekday_p)
        counts = window_card_rates(derived, window, legit.hour_p, legit.weekday_p) * exposure
        if len(counts) < MIN_ROWS:
            continue
        mean, var = float(counts.mean()), float(counts.var())
        means[window.name] = _r(mean / exposure)
        extra = var - mean
        if extra > 0:
            shapes.append(mean * mean / extra)
            weights.append(len(counts))
    if not means or not shapes:
        raise DataRefused("the dense windows hold too few cards to measure card activity")
    return ActivityProfile(
        daily_mean=_r(float(np.mean(list(means.values())))),
        gamma_shape=_r(float(np.average(shapes, weights=weights))),
        window_daily_means=means,
    )


def _normal_scores(ranks: pd.Series) -> np.ndarray:
    """Ranks in (0, 1] to standard-normal scores (mid-rank, so no score is infinite)."""
    from scipy.special import ndtri

    n = len(ranks)
    return np.asarray(ndtri(np.clip(ranks.to_numpy() - 0.5 / n, 1e-9, 1 - 1e-9)))


def _icc(values: np.ndarray, cards: np.ndarray) -> float:
    """One-way intraclass correlation: the share of variance that lies between cards."""
    frame = pd.DataFrame({"v": values, "c": cards})
    sizes = frame.groupby("c")["v"].transform("size")
    frame = frame[sizes >= 2]
    groups = frame.groupby("c")["v"]
    k, means = groups.size(), groups.mean()
    n, m = len(frame), len(k)
    between = float((k * (means - frame["v"].mean()) ** 2).sum()) / (m - 1)
    within = float(((frame["v"] - frame["c"].map(means)) ** 2).sum()) / (n - m)
    k0 = (n - float((k**2).sum()) / n) / (m - 1)
    return (between - within) / (between + (k0 - 1) * within)


def _dirichlet_concentration(rows: pd.DataFrame, shares: dict[str, float]) -> float:
    """Concentration of per-card category tastes, by the method of moments.

    Under a Dirichlet-multinomial, a card with n transactions has a Pearson statistic whose
    mean is (J - 1)(n + a)/(1 + a); solving the average over cards for ``a`` gives the
    concentration (large: cards shop like the population; small: each has favourites).
    """
    table = pd.crosstab(rows["cc_num"], rows["category"]).reindex(columns=CATEGORIES, fill_value=0)
    table = table[table.sum(axis=1) >= 2]
    n = table.sum(axis=1).to_numpy(dtype=np.float64)
    p = np.array([shares[c] for c in CATEGORIES])
    expected = np.outer(n, p)
    pearson = (((table.to_numpy() - expected) ** 2) / expected).sum(axis=1) / (len(p) - 1)
    target = float(pearson.mean())
    low, high = 1e-3, 1e4
    if target <= float(np.mean((n + high) / (1 + high))):
        return high
    for _ in range(200):
        mid = float(np.sqrt(low * high))
        if float(np.mean((n + mid) / (1 + mid))) > target:
            low = mid
        else:
            high = mid
    return float(np.sqrt(low * high))


def habit_profile(derived: pd.DataFrame, legit: ClassProfile) -> HabitProfile:
    """How much each card keeps to its own amounts, hours and categories (dense windows).

    The simulator draws a card's amounts and hours through a Gaussian copula with correlation
    rho to the card's own score, which makes the intraclass correlation of the normal scores
    rho squared; so rho is the square root of the ICC measured on real cards.
    """
    rows = derived[(derived["is_fraud"] == 0) & in_dense_windows(derived["ts"])]
    if rows["cc_num"].nunique() < MIN_ROWS:
        raise DataRefused("the dense windows hold too few cards to measure card habits")
    cards = rows["cc_num"].to_numpy()
    amount = _normal_scores(rows.groupby("category")["amt"].rank(pct=True))
    clock = rows["ts"].dt.hour * 3600 + rows["ts"].dt.minute * 60 + rows["ts"].dt.second
    hour = _normal_scores(clock.rank(pct=True))
    return HabitProfile(
        amount_rho=_r(float(np.sqrt(max(_icc(amount, cards), 0.0)))),
        hour_rho=_r(float(np.sqrt(max(_icc(hour, cards), 0.0)))),
        category_concentration=_r(_dirichlet_concentration(rows, legit.category_p)),
    )


def derive(frame: pd.DataFrame) -> Calibration:
    """The whole calibration from a Kaggle-layout frame of real rows."""
    derived = derived_columns(frame)
    legit = derived[derived["is_fraud"] == 0]
    fraud = derived[derived["is_fraud"] == 1]
    legit_profile = class_profile(legit, calendar_reference(derived))
    offsets = np.maximum(
        (frame["merch_lat"] - frame["lat"]).abs().to_numpy(),
        (frame["merch_long"] - frame["long"]).abs().to_numpy(),
    )
    merchants = frame.drop_duplicates("merchant")
    cards = frame.drop_duplicates("cc_num")["cc_num"].astype(str).str.len()
    digits = cards.value_counts(normalize=True).sort_index()
    return Calibration(
        source_rows=len(frame),
        quantile_probs=list(QUANTILE_PROBS),
        legit=legit_profile,
        fraud=class_profile(fraud, fraud),
        streak=streak_profile(derived),
        activity=activity_profile(derived, legit_profile),
        habits=habit_profile(derived, legit_profile),
        merchant_offset_deg=_r(float(np.ceil(offsets.max() * 100) / 100)),
        merchant_share=dict(
            zip(CATEGORIES, _shares(merchants["category"], CATEGORIES), strict=True)
        ),
        card_digits_p=dict(
            zip(
                digits.index.to_numpy(dtype=np.int64).tolist(),
                [_r(v) for v in digits.to_numpy().tolist()],
                strict=True,
            )
        ),
    )


def default_output() -> Path:
    """Where the committed calibration lives: beside the generator that reads it
    (:mod:`fraudstream.simulator.params`), one package above this one."""
    return Path(__file__).parent.parent / CALIBRATION_FILE


def calibrate(real: Path, out: Path | None = None) -> Calibration:
    """Derive from the real file and write ``params.json`` (or ``out``)."""
    calibration = derive(load_real(real))
    (out or default_output()).write_text(calibration.to_json(), encoding="utf-8")
    return calibration
