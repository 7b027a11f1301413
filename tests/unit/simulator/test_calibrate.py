"""Calibration measures what it claims: card habits set in the simulator are found again."""

from __future__ import annotations

from datetime import datetime

import pytest

from fraudstream.simulator import SimParams, Simulator
from fraudstream.simulator.calibration.calibrate import habit_profile, window_exposure
from fraudstream.simulator.calibration.real_profile import (
    DENSE_WINDOWS,
    DenseWindow,
    derived_columns,
)

pytestmark = pytest.mark.unit


def test_card_habits_set_in_the_simulator_are_measured_back() -> None:
    march = DENSE_WINDOWS[1]
    params = SimParams(
        fraud_rate=0.0,
        start=datetime(2020, 3, 8),
        amount_habit=0.5,
        hour_habit=0.0,
        category_concentration=20.0,
    )
    rows = derived_columns(Simulator(params, seed=2).frame(start=march.start, end=march.end))
    measured = habit_profile(rows, params.calibration.legit)
    assert measured.amount_rho == pytest.approx(0.5, abs=0.05)
    assert measured.hour_rho < 0.05
    assert measured.category_concentration == pytest.approx(20.0, rel=0.25)


def test_a_whole_week_is_seven_average_days() -> None:
    cal = SimParams().calibration
    week = DenseWindow("week", datetime(2019, 1, 7), datetime(2019, 1, 14))
    # Shares are stored to six significant digits, hence the tolerance.
    exposure = window_exposure(week, cal.legit.hour_p, cal.legit.weekday_p)
    assert exposure == pytest.approx(7.0, rel=1e-4)
