"""What the real Sparkov sample is, and which of its rows stand for what.

The sample (``FRAUD_REAL_DATA``, see its PROVENANCE.md) is not a natural-rate stream: legitimate
rows are dense only in three windows, and elsewhere they are a random sample of fraudTest's
legitimate rows. Calibration and the fidelity report both need the same answers to "which rows
are a fair reference for this feature", so they live here, once.

- Calendar features (hour of day, weekday) of legitimate rows come from the rows outside the
  dense windows: the windows cover a few days each (one of them only an afternoon), so their
  hours and weekdays are an accident of where they start and stop.
- Every other feature of legitimate rows uses all of them.
- Frauds are nearly complete (all of fraudTest's, most of fraudTrain's), so every fraud counts.
- Per-card activity comes from the dense windows, the only place a card's full history shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from fraudstream.errors import DataRefused, SourceError
from fraudstream.schema import (
    CATEGORIES,
    DOB_FORMAT,
    LABEL_COLUMN,
    TIMESTAMP_FORMAT,
    missing_columns,
    normalise_columns,
)
from fraudstream.simulator.calendar import DAYS_PER_YEAR

REAL_DATA_ENV: Final = "FRAUD_REAL_DATA"


@dataclass(frozen=True, slots=True)
class DenseWindow:
    """A stretch of the sample where every transaction of every card is present."""

    name: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86_400


DENSE_WINDOWS: Final = (
    DenseWindow("train-head", datetime(2019, 1, 1, 0, 0), datetime(2019, 1, 4, 21, 17)),
    DenseWindow("march-2020", datetime(2020, 3, 8, 6, 0), datetime(2020, 3, 10, 16, 9)),
    DenseWindow("test-head", datetime(2020, 6, 21, 12, 14), datetime(2020, 6, 22, 1, 7)),
)
"""From PROVENANCE.md; march-2020 is trimmed to its hours of full density (06:00 on the 8th to
16:08 on the 10th, read from the hourly counts)."""


def load_real(path: Path) -> pd.DataFrame:
    """Read a Kaggle-layout file (CSV or Parquet), with or without the unnamed index column."""
    if not path.is_file():
        raise SourceError(
            f"real Sparkov file not found: {path}; point --real (or {REAL_DATA_ENV}) at "
            "sparkov_real.csv or a fraudTrain/fraudTest copy"
        )
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    frame = normalise_columns(frame)
    missing = missing_columns(frame)
    if missing or LABEL_COLUMN not in frame.columns:
        lacking = [*missing, *([] if LABEL_COLUMN in frame.columns else [LABEL_COLUMN])]
        raise DataRefused(f"{path} lacks the Kaggle columns {', '.join(lacking)}")
    return frame


def derived_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw features the report compares: time parts, age, distance, fraud flag.

    Works on real and simulated frames alike (both are in the Kaggle layout).
    """
    ts = pd.to_datetime(frame["trans_date_trans_time"], format=TIMESTAMP_FORMAT)
    dob = pd.to_datetime(frame["dob"], format=DOB_FORMAT)
    out = pd.DataFrame(
        {
            "ts": ts,
            "cc_num": frame["cc_num"].to_numpy(),
            "category": frame["category"].astype(str).to_numpy(),
            "amt": frame["amt"].to_numpy(dtype=np.float64),
            "hour": ts.dt.hour.to_numpy(),
            "weekday": ts.dt.day_of_week.to_numpy(),
            "age": ((ts - dob).dt.days / DAYS_PER_YEAR).to_numpy(),
            "distance_km": haversine_km(
                frame["lat"].to_numpy(dtype=np.float64),
                frame["long"].to_numpy(dtype=np.float64),
                frame["merch_lat"].to_numpy(dtype=np.float64),
                frame["merch_long"].to_numpy(dtype=np.float64),
            ),
            "city_pop": frame["city_pop"].to_numpy(dtype=np.float64),
            "gender": frame["gender"].astype(str).to_numpy(),
            "is_fraud": frame[LABEL_COLUMN].to_numpy(dtype=np.int64),
        },
        index=frame.index,
    )
    unknown = sorted(set(out["category"].unique()) - set(CATEGORIES))
    if unknown:
        raise DataRefused(f"categories outside Sparkov's 14: {', '.join(unknown)}")
    return out


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in kilometres, vectorised."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1))))


def in_dense_windows(ts: pd.Series) -> np.ndarray:
    """True for timestamps inside any dense window."""
    mask = np.zeros(len(ts), dtype=bool)
    for window in DENSE_WINDOWS:
        mask |= ((ts >= window.start) & (ts < window.end)).to_numpy()
    return mask


def calendar_reference(derived: pd.DataFrame) -> pd.DataFrame:
    """Legitimate rows fit to stand for hour and weekday: those outside the dense windows."""
    legit = derived[derived["is_fraud"] == 0]
    return legit[~in_dense_windows(legit["ts"])]
