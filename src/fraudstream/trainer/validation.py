"""Before any model sees the data: a short report, and a refusal that names the problem.

:func:`inspect` describes a frame (rows, dates, fraud rate, nulls, duplicates, unknown
categories, rows that break the schema); :func:`prepare` refuses what cannot train or evaluate
a model and returns the frame typed, de-duplicated and in time order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from fraudstream.errors import DataRefused
from fraudstream.schema import (
    DOB_FORMAT,
    LABEL_COLUMN,
    TIMESTAMP_FORMAT,
    check_frame,
    missing_columns,
    unknown_categories,
)

_EXAMPLES: Final = 3


class DataReport(BaseModel):
    """What the trainer was given; logged with every run."""

    model_config = ConfigDict(frozen=True)

    source: str
    rows: int
    start: datetime | None
    end: datetime | None
    labelled: bool
    frauds: int
    fraud_rate: float
    null_rates: dict[str, float]
    """Share of empty cells, for the columns that have any."""
    duplicate_trans_num: int
    unknown_categories: dict[str, int]
    bad_rows: int
    bad_examples: list[str]
    """The first rows that break the schema, as ``row N: field: problem``."""

    def lines(self) -> list[str]:
        """The report as short lines for a terminal or a log."""
        span = f"{self.start} -> {self.end}" if self.start else "no valid dates"
        out = [
            f"{self.source}: {self.rows:,} rows, {span}",
            f"frauds: {self.frauds:,} ({self.fraud_rate:.3%})" if self.labelled else "unlabelled",
        ]
        if self.null_rates:
            out.append(
                "empty cells: " + ", ".join(f"{k} {v:.2%}" for k, v in self.null_rates.items())
            )
        if self.duplicate_trans_num:
            out.append(f"duplicate trans_num: {self.duplicate_trans_num:,} (first kept)")
        if self.unknown_categories:
            out.append(
                "unknown categories: "
                + ", ".join(f"{k} ({v:,})" for k, v in self.unknown_categories.items())
            )
        if self.bad_rows:
            out.append(
                f"rows breaking the schema: {self.bad_rows:,}: " + "; ".join(self.bad_examples)
            )
        return out


def inspect(frame: pd.DataFrame, source: str) -> DataReport:
    """Describe a frame that has every feed column (see ``schema.missing_columns``)."""
    problems = check_frame(frame)
    bad = problems != ""
    examples = [f"row {i}: {p}" for i, p in problems[bad].head(_EXAMPLES).items()]
    times = pd.to_datetime(frame["trans_date_trans_time"], format=TIMESTAMP_FORMAT, errors="coerce")
    labelled = LABEL_COLUMN in frame.columns
    labels = pd.to_numeric(frame[LABEL_COLUMN], errors="coerce") if labelled else None
    frauds = int((labels == 1).sum()) if labels is not None else 0
    nulls = frame.isna().mean()
    unknown = frame.loc[unknown_categories(frame), "category"].value_counts()
    return DataReport(
        source=source,
        rows=len(frame),
        start=None if times.isna().all() else times.min().to_pydatetime(),
        end=None if times.isna().all() else times.max().to_pydatetime(),
        labelled=labelled,
        frauds=frauds,
        fraud_rate=frauds / len(frame) if len(frame) else 0.0,
        null_rates={str(k): round(float(v), 6) for k, v in nulls[nulls > 0].items()},
        duplicate_trans_num=int(frame["trans_num"].duplicated().sum()),
        unknown_categories={str(k): int(v) for k, v in unknown.items()},
        bad_rows=int(bad.sum()),
        bad_examples=examples,
    )


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each column in its natural dtype (valid rows only)."""
    out = frame.copy()
    out["trans_date_trans_time"] = pd.to_datetime(
        out["trans_date_trans_time"], format=TIMESTAMP_FORMAT
    ).astype("datetime64[s]")
    out["dob"] = pd.to_datetime(out["dob"], format=DOB_FORMAT).astype("datetime64[s]")
    for col in ("cc_num", "zip", "city_pop", "unix_time"):
        out[col] = pd.to_numeric(out[col]).astype(np.int64)
    for col in ("amt", "lat", "long", "merch_lat", "merch_long"):
        out[col] = pd.to_numeric(out[col]).astype(np.float64)
    for col in ("merchant", "category", "trans_num", "gender"):
        out[col] = out[col].astype("string").str.strip()
    out["gender"] = out["gender"].str.upper()
    if LABEL_COLUMN in out.columns:
        out[LABEL_COLUMN] = pd.to_numeric(out[LABEL_COLUMN]).astype(np.int64)
    return out


def prepare(
    frame: pd.DataFrame, source: str, *, min_frauds: int = 1
) -> tuple[pd.DataFrame, DataReport]:
    """Refuse a frame that cannot train or evaluate a model; else return it typed, without
    duplicate trans_num (the first is kept), in unix_time order, with a fresh index."""
    missing = missing_columns(frame)
    if missing:
        raise DataRefused(
            f"{source}: missing columns {', '.join(missing)}; expected the Kaggle "
            "fraudTrain.csv columns"
        )
    if LABEL_COLUMN not in frame.columns:
        raise DataRefused(f"{source}: no {LABEL_COLUMN} column: a model needs labelled rows")
    report = inspect(frame, source)
    if report.rows == 0:
        raise DataRefused(f"{source}: no rows")
    if report.bad_rows:
        raise DataRefused(
            f"{source}: {report.bad_rows:,} rows break the schema (wrong types or values), e.g. "
            + "; ".join(report.bad_examples)
        )
    unlabelled = int(frame[LABEL_COLUMN].isna().sum())
    if unlabelled:
        raise DataRefused(f"{source}: {unlabelled:,} rows have no {LABEL_COLUMN} value")
    if report.frauds < min_frauds:
        raise DataRefused(
            f"{source}: {report.frauds} frauds among {report.rows:,} rows; at least {min_frauds} "
            "are needed (is the is_fraud column all zero?)"
        )
    if report.frauds == report.rows:
        raise DataRefused(f"{source}: every row is a fraud; a model needs legitimate rows too")
    clean = typed(frame.drop_duplicates("trans_num", keep="first"))
    clean = clean.sort_values("unix_time", kind="stable").reset_index(drop=True)
    return clean, report
