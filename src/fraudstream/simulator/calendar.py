"""Sparkov's clock: local wall-clock timestamps, and unix_time seven calendar years earlier.

In the Kaggle files ``trans_date_trans_time`` equals UTC(``unix_time``) plus seven calendar
years (pandas ``DateOffset(years=7)``): unix day 2012-02-29 maps to 2019-02-28, and no
transaction falls on a 29 February, because 29 February seven years earlier never existed.
The simulator keeps time as integer seconds on the Kaggle clock and derives both columns
from it, so every row satisfies that relation exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import numpy as np
from numpy.typing import NDArray

SECONDS_PER_DAY: Final = 86_400
DAYS_PER_YEAR: Final = 365.25
"""Ages in years: the simulator draws dates of birth with it, the real profile reads them back."""
UNIX_SHIFT_MONTHS: Final = 7 * 12

IntArray = NDArray[np.int64]


def to_seconds(when: datetime) -> int:
    """Kaggle-clock seconds of a naive datetime (an offset, if any, is dropped)."""
    return int(np.datetime64(when.replace(tzinfo=None), "s").astype(np.int64))


def from_seconds(seconds: int) -> datetime:
    """The naive datetime of Kaggle-clock seconds."""
    return datetime.fromisoformat(str(np.datetime64(int(seconds), "s")))


def unix_time(seconds: IntArray) -> IntArray:
    """``unix_time`` for Kaggle-clock seconds: seven calendar years earlier, day clamped."""
    stamp = seconds.astype("datetime64[s]")
    day = stamp.astype("datetime64[D]")
    time_of_day = stamp - day.astype("datetime64[s]")
    month = day.astype("datetime64[M]")
    day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
    shifted = month.astype(np.int64) - UNIX_SHIFT_MONTHS
    shifted_start = shifted.astype("datetime64[M]").astype("datetime64[D]")
    month_days = (shifted + 1).astype("datetime64[M]").astype("datetime64[D]") - shifted_start
    clamped = np.minimum(day_of_month, month_days.astype(np.int64) - 1)
    result = (shifted_start + clamped).astype("datetime64[s]") + time_of_day
    return np.asarray(result.astype(np.int64))


def format_timestamps(seconds: IntArray) -> NDArray[np.bytes_]:
    """``YYYY-MM-DD HH:MM:SS`` as fixed-width ASCII, vectorised (numpy writes a ``T`` where
    Kaggle has a space)."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype("S19")
    chars = text.view(np.uint8).reshape(-1, 19)
    chars[:, 10] = ord(" ")
    return np.asarray(chars.view("S19").ravel())


def weekdays(days: NDArray[np.datetime64]) -> IntArray:
    """Monday = 0 for an array of ``datetime64[D]`` (1970-01-01 was a Thursday)."""
    return np.asarray((days.astype(np.int64) + 3) % 7)


def is_leap_day(days: NDArray[np.datetime64]) -> NDArray[np.bool_]:
    """True on 29 February, a day Sparkov's clock never shows."""
    month_start = days.astype("datetime64[M]")
    day_of_month = (days - month_start.astype("datetime64[D]")).astype(np.int64)
    return np.asarray((month_start.astype(np.int64) % 12 == 1) & (day_of_month == 28))
