"""What the trainer refuses, and what its data report says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fixtures.frames import random_frame
from fraudstream.config import Settings
from fraudstream.errors import DataRefused
from fraudstream.trainer.pipeline import time_split
from fraudstream.trainer.validation import inspect, prepare

pytestmark = pytest.mark.unit


@pytest.fixture
def frame() -> pd.DataFrame:
    data = random_frame(2_000, seed=3)
    data.loc[::50, "is_fraud"] = 1
    return data


def test_a_good_frame_is_typed_sorted_and_reported(frame: pd.DataFrame) -> None:
    shuffled = frame.sample(frac=1.0, random_state=1)
    clean, report = prepare(shuffled, "test")
    assert clean["unix_time"].is_monotonic_increasing
    assert clean["cc_num"].dtype == "int64"
    assert str(clean["trans_date_trans_time"].dtype).startswith("datetime64")
    assert report.rows == 2_000
    assert report.frauds == int(frame["is_fraud"].sum())
    assert report.unknown_categories == {"crypto": int((frame["category"] == "crypto").sum())}
    assert report.start is not None
    assert report.end is not None
    assert report.start < report.end


def test_missing_columns_are_named(frame: pd.DataFrame) -> None:
    with pytest.raises(DataRefused, match="missing columns amt, city_pop"):
        prepare(frame.drop(columns=["amt", "city_pop"]), "test")


def test_no_label_column(frame: pd.DataFrame) -> None:
    with pytest.raises(DataRefused, match="no is_fraud column"):
        prepare(frame.drop(columns=["is_fraud"]), "test")


def test_no_frauds(frame: pd.DataFrame) -> None:
    with pytest.raises(DataRefused, match="0 frauds among 2,000 rows"):
        prepare(frame.assign(is_fraud=0), "test")


def test_only_frauds(frame: pd.DataFrame) -> None:
    with pytest.raises(DataRefused, match="every row is a fraud"):
        prepare(frame.assign(is_fraud=1), "test")


def test_wrong_types_name_the_rows_and_fields(frame: pd.DataFrame) -> None:
    broken = frame.astype({"amt": object, "dob": object})
    broken.loc[7, "amt"] = "twelve dollars"
    broken.loc[9, "dob"] = "yesterday"
    with pytest.raises(DataRefused, match=r"2 rows break the schema.*row 7: amt.*row 9: dob"):
        prepare(broken, "test")


def test_missing_labels(frame: pd.DataFrame) -> None:
    frame["is_fraud"] = frame["is_fraud"].astype("Float64")
    frame.loc[3, "is_fraud"] = None
    with pytest.raises(DataRefused, match="1 rows have no is_fraud"):
        prepare(frame, "test")


def test_duplicate_trans_num_are_reported_and_dropped(frame: pd.DataFrame) -> None:
    doubled = pd.concat([frame, frame.iloc[:25]], ignore_index=True)
    clean, report = prepare(doubled, "test")
    assert report.duplicate_trans_num == 25
    assert len(clean) == 2_000
    assert any("duplicate trans_num: 25" in line for line in report.lines())


def test_null_rates_are_reported(frame: pd.DataFrame) -> None:
    frame.loc[:9, "job"] = None
    assert inspect(frame, "test").null_rates == {"job": 0.005}


def test_slices_follow_time_and_each_needs_frauds(frame: pd.DataFrame, tmp_path: Path) -> None:
    clean, _ = prepare(frame, "test")
    settings = Settings(_env_file=None, home=tmp_path, train_min_frauds=5)
    split = time_split(clean, settings)
    assert (split.train.stop, split.valid.stop, split.test.stop) == (1_200, 1_600, 2_000)
    # frauds only in the earliest 1,500 rows: the test slice (the latest 400) has none
    early = clean.assign(is_fraud=0)
    early.loc[early.index[:1_500:20], "is_fraud"] = 1
    with pytest.raises(DataRefused, match=r"the test slice .* has 0 frauds"):
        time_split(early, settings)
