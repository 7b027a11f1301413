"""The simulator's parameters: calibrated aggregates of real Sparkov rows, and the knobs.

:class:`Calibration` is what ``fraudstream report calibrate`` derives from real rows and writes
to ``params.json`` beside this module (aggregates only: shares, quantiles, counts; never a
row). :class:`SimParams` adds the knobs a user turns (rate, fraud mix, drift, label delay,
population size) and defaults every distribution to that calibration, so an untouched
simulator looks like real Sparkov.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Annotated, Final, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fraudstream.errors import ConfigError
from fraudstream.schema import CATEGORIES

CALIBRATION_FILE: Final = "params.json"

Share = Annotated[float, Field(ge=0, le=1)]


class Scenario(StrEnum):
    """Fraud patterns the simulator can play; each fraud row is tagged with one.

    ``night_spree`` is real Sparkov's own (calibrated): a compromised card spends over two
    nights, mostly 22:00-03:00, large sums online and at groceries. The others are patterns of
    real card fraud that Sparkov does not show, off by default: tiny card-testing charges then
    a cash-out, spending far from home, and a streak after which the bank blocks the card.
    """

    NIGHT_SPREE = "night_spree"
    CARD_TESTING = "card_testing"
    FAR_FROM_HOME = "far_from_home"
    STREAK_BLOCKED = "streak_blocked"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassProfile(_Frozen):
    """Distributions of one class (legitimate or fraud) of real rows."""

    rows: int
    category_p: dict[str, Share]
    hour_p: Annotated[list[Share], Field(min_length=24, max_length=24)]
    weekday_p: Annotated[list[Share], Field(min_length=7, max_length=7)]
    """Monday first."""
    amount_q: dict[str, list[float]]
    """Per category, amount at each of :attr:`Calibration.quantile_probs`."""
    age_q: list[float]
    city_pop_q: list[float]
    female_share: Share


class StreakProfile(_Frozen):
    """How one compromised card's frauds cluster (from fraudTest, where every fraud is known)."""

    cards: int
    frauds_p: dict[int, Share]
    """Number of frauds per compromised card."""
    days_p: dict[int, Share]
    """Calendar days the streak touches."""


class ActivityProfile(_Frozen):
    """How often a card is used, from the dense windows."""

    daily_mean: Annotated[float, Field(gt=0)]
    """Transactions per card per average day."""
    gamma_shape: Annotated[float, Field(gt=0)]
    """Cards differ: a card's rate is daily_mean times a Gamma(shape, 1/shape) draw."""
    window_daily_means: dict[str, float]
    """The estimate of each dense window, before averaging; they differ by season."""


class HabitProfile(_Frozen):
    """How much a card keeps to its own ways, from the dense windows."""

    amount_rho: Annotated[float, Field(ge=0, lt=1)]
    """Copula correlation of a card's amounts (within category) with its own spending level."""
    hour_rho: Annotated[float, Field(ge=0, lt=1)]
    """Copula correlation of a card's times of day with its own early-or-late habit."""
    category_concentration: Annotated[float, Field(gt=0)]
    """Dirichlet concentration of a card's category tastes around the population mix."""


class Calibration(_Frozen):
    """Aggregates of real Sparkov rows, as written by ``fraudstream report calibrate``."""

    version: int = 1
    source_rows: int
    quantile_probs: list[float]
    legit: ClassProfile
    fraud: ClassProfile
    streak: StreakProfile
    activity: ActivityProfile
    habits: HabitProfile
    merchant_offset_deg: Annotated[float, Field(gt=0)]
    """Merchants sit uniformly within this many degrees of the cardholder's home, per axis."""
    merchant_share: dict[str, Share]
    """Share of merchants in each category."""
    card_digits_p: dict[int, Share]
    """Length of card numbers, per card."""

    @model_validator(mode="after")
    def _complete(self) -> Self:
        for profile in (self.legit, self.fraud):
            if set(profile.category_p) != set(CATEGORIES) or set(profile.amount_q) != set(
                CATEGORIES
            ):
                raise ValueError("every profile needs all 14 Sparkov categories")
            if any(len(q) != len(self.quantile_probs) for q in profile.amount_q.values()):
                raise ValueError("amount quantiles must match quantile_probs")
        return self

    def to_json(self) -> str:
        """Stable text (sorted keys, fixed indentation) so the committed file diffs cleanly."""
        return json.dumps(self.model_dump(mode="json"), indent=1, sort_keys=True) + "\n"


@cache
def default_calibration() -> Calibration:
    """The committed calibration (``params.json``), read once per process."""
    text = files("fraudstream.simulator").joinpath(CALIBRATION_FILE).read_text("utf-8")
    return Calibration.model_validate_json(text)


def _default_mix() -> dict[Scenario, float]:
    return {Scenario.NIGHT_SPREE: 1.0}


class SimParams(_Frozen):
    """Everything that shapes the simulated feed besides the seed."""

    start: datetime = datetime(2019, 1, 1)
    """Sparkov clock of the first transaction (the Kaggle files begin 2019-01-01)."""
    customers: int = Field(default=2000, ge=1)
    merchants: int = Field(default=700, ge=14)
    fraud_rate: float = Field(default=0.005, ge=0, le=0.5)
    """Share of transactions that are fraud."""
    fraud_mix: dict[Scenario, Annotated[float, Field(ge=0)]] = Field(default_factory=_default_mix)
    """Relative weight of each scenario among fraud streaks."""
    drift_at: datetime | None = None
    """From this time on, ``drift_scenario`` takes ``drift_weight`` of the streaks."""
    drift_scenario: Scenario = Scenario.CARD_TESTING
    drift_weight: float = Field(default=0.5, gt=0, le=1)
    label_delay_days: float = Field(default=3.0, ge=0)
    """Labels (chargebacks) become known this long after the transaction."""
    amount_habit: float | None = Field(default=None, ge=0, lt=1)
    """How much a card sticks to its own spending level (0: none); None: calibrated."""
    hour_habit: float | None = Field(default=None, ge=0, lt=1)
    """How much a card sticks to its own hours of the day (0: none); None: calibrated."""
    category_concentration: float | None = Field(default=None, gt=0)
    """Spread of a card's category tastes around the population mix (lower: stronger
    favourites); None: calibrated."""
    calibration: Calibration = Field(default_factory=default_calibration)

    @model_validator(mode="after")
    def _mix_has_weight(self) -> Self:
        if self.fraud_rate > 0 and not any(w > 0 for w in self.fraud_mix.values()):
            raise ValueError("fraud_mix needs at least one scenario with a positive weight")
        return self

    @property
    def habits(self) -> HabitProfile:
        """The habit knobs in force: the ones set here, the calibrated ones otherwise."""
        cal = self.calibration.habits
        return HabitProfile(
            amount_rho=cal.amount_rho if self.amount_habit is None else self.amount_habit,
            hour_rho=cal.hour_rho if self.hour_habit is None else self.hour_habit,
            category_concentration=cal.category_concentration
            if self.category_concentration is None
            else self.category_concentration,
        )

    def mix_vector(self, after_drift: bool) -> list[float]:
        """Scenario weights (in :class:`Scenario` order), normalised, before or after drift."""
        weights = [self.fraud_mix.get(s, 0.0) for s in Scenario]
        if self.drift_at is not None:
            drift = list(Scenario).index(self.drift_scenario)
            if after_drift:
                total = sum(weights) or 1.0
                weights = [(1 - self.drift_weight) * w / total for w in weights]
                weights[drift] += self.drift_weight
            else:
                weights[drift] = 0.0
        total = sum(weights)
        if total <= 0:
            raise ConfigError(
                "fraud mix has no weight before the drift: give another scenario a weight "
                "or set the fraud rate to 0"
            )
        return [w / total for w in weights]
