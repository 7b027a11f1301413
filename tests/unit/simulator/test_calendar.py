"""Sparkov's clock: unix_time is the timestamp seven calendar years earlier."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from fraudstream.simulator.calendar import (
    format_timestamps,
    from_seconds,
    is_leap_day,
    to_seconds,
    unix_time,
    weekdays,
)

pytestmark = pytest.mark.unit


def test_unix_time_agrees_with_pandas_date_offset_over_two_years() -> None:
    stamps = pd.date_range("2019-01-01", "2020-12-31 23:00", freq="37min")
    stamps = stamps[~((stamps.month == 2) & (stamps.day == 29))]
    seconds = stamps.to_numpy().astype("datetime64[s]").astype(np.int64)
    unix = pd.to_datetime(unix_time(seconds), unit="s")
    assert ((unix + pd.DateOffset(years=7)) == stamps).all()


def test_the_first_kaggle_row_maps_to_its_unix_time() -> None:
    # fraudTrain.csv row 0: 2019-01-01 00:00:18 has unix_time 1325376018 (2012-01-01 00:00:18).
    seconds = np.array([to_seconds(datetime(2019, 1, 1, 0, 0, 18))])
    assert unix_time(seconds).tolist() == [1325376018]


def test_timestamps_are_written_as_kaggle_text() -> None:
    seconds = np.array([to_seconds(datetime(2020, 6, 21, 12, 14, 25))])
    assert format_timestamps(seconds).tolist() == [b"2020-06-21 12:14:25"]
    assert from_seconds(int(seconds[0])) == datetime(2020, 6, 21, 12, 14, 25)


def test_weekdays_and_leap_days() -> None:
    days = np.arange(np.datetime64("2020-02-24"), np.datetime64("2020-03-03"))
    assert weekdays(days).tolist() == [0, 1, 2, 3, 4, 5, 6, 0]
    assert days[is_leap_day(days)].astype(str).tolist() == ["2020-02-29"]
