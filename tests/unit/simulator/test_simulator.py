"""The simulator's contract: Kaggle layout, determinism, fraud rate, scenarios, drift, labels."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudstream.errors import ConfigError
from fraudstream.schema import KAGGLE_COLUMNS, check_frame, normalise_columns, parse_transactions
from fraudstream.simulator import SCENARIO_COLUMN, Scenario, SimParams, Simulator
from fraudstream.simulator.calibration.real_profile import haversine_km

pytestmark = pytest.mark.unit

ALL_SCENARIOS = dict.fromkeys(Scenario, 1.0)


@pytest.fixture(scope="module")
def default_frame() -> pd.DataFrame:
    """200,000 rows with the calibrated defaults (the fraud-rate check needs that many)."""
    return Simulator(SimParams(), seed=11).frame(200_000, scenario_column=True)


@pytest.fixture(scope="module")
def mixed_frame() -> pd.DataFrame:
    """Every scenario, at a fraud rate high enough to see each many times."""
    params = SimParams(customers=500, fraud_rate=0.03, fraud_mix=ALL_SCENARIOS)
    return Simulator(params, seed=5).frame(60_000, scenario_column=True)


def _times(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["trans_date_trans_time"], format="%Y-%m-%d %H:%M:%S")


# -- the Kaggle layout ---------------------------------------------------------------------------


def test_columns_are_exactly_the_kaggle_ones_in_order(default_frame: pd.DataFrame) -> None:
    assert tuple(default_frame.drop(columns=[SCENARIO_COLUMN]).columns) == KAGGLE_COLUMNS


def test_every_row_passes_the_schema(default_frame: pd.DataFrame) -> None:
    frame = default_frame.drop(columns=[SCENARIO_COLUMN])
    problems = check_frame(frame)
    assert (problems == "").all(), problems[problems != ""].head().tolist()
    sample = frame.sample(3_000, random_state=1).to_dict("records")
    good, bad = parse_transactions(sample)
    assert bad == []
    assert len(good) == 3_000
    assert all(t.category_known for t in good)


def test_formats_match_the_real_files(default_frame: pd.DataFrame) -> None:
    f = default_frame
    assert f["trans_num"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert f["trans_num"].is_unique
    assert f["merchant"].str.startswith("fraud_").all()
    assert f["trans_date_trans_time"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert f["dob"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert f["cc_num"].astype(str).str.len().between(11, 19).all()
    assert f["gender"].isin(["F", "M"]).all()
    assert (f["amt"] == f["amt"].round(2)).all()
    assert (f["amt"] > 0).all()
    assert _times(f).is_monotonic_increasing


def test_unix_time_is_the_timestamp_seven_calendar_years_earlier(
    default_frame: pd.DataFrame,
) -> None:
    unix = pd.to_datetime(default_frame["unix_time"], unit="s")
    assert ((unix + pd.DateOffset(years=7)) == _times(default_frame)).all()


def test_no_transaction_on_a_29th_of_february() -> None:
    params = SimParams(customers=50, start=datetime(2020, 2, 27))
    times = _times(Simulator(params, seed=1).frame(end=datetime(2020, 3, 2)))
    assert not ((times.dt.month == 2) & (times.dt.day == 29)).any()
    assert (times.dt.date == datetime(2020, 3, 1).date()).any()


def test_merchants_sit_within_a_degree_of_home_like_sparkov(default_frame: pd.DataFrame) -> None:
    legit = default_frame[default_frame["is_fraud"] == 0]
    assert (legit["merch_lat"] - legit["lat"]).abs().max() <= 1.0
    assert (legit["merch_long"] - legit["long"]).abs().max() <= 1.0


# -- determinism ---------------------------------------------------------------------------------


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    params = SimParams(customers=200, fraud_mix=ALL_SCENARIOS, fraud_rate=0.02)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    Simulator(params, seed=3).write(first, 5_000)
    Simulator(params, seed=3).write(second, 5_000)
    assert first.read_bytes() == second.read_bytes()
    other = tmp_path / "c.csv"
    Simulator(params, seed=4).write(other, 5_000)
    assert other.read_bytes() != first.read_bytes()


def test_every_way_of_reading_gives_the_same_timeline() -> None:
    sim = Simulator(SimParams(customers=300), seed=9)
    frame = sim.frame(4_000)
    shorter = sim.frame(1_500)
    pd.testing.assert_frame_equal(frame.iloc[:1_500], shorter)
    records = list(sim.records(4_000))
    assert records == frame.to_dict("records")
    models = list(sim.records(10, as_model=True))
    assert [m.trans_num for m in models] == frame["trans_num"].iloc[:10].tolist()
    unlabelled = next(sim.records(1, with_label=False))
    assert "is_fraud" not in unlabelled


def test_a_time_window_holds_only_its_rows() -> None:
    sim = Simulator(SimParams(customers=300), seed=2)
    start, end = datetime(2019, 1, 10, 6), datetime(2019, 1, 12)
    window = sim.frame(start=start, end=end)
    times = _times(window)
    assert len(window) > 100
    assert times.min() >= start
    assert times.max() < end
    full = sim.frame(end=end)
    pd.testing.assert_frame_equal(
        full[_times(full) >= start].reset_index(drop=True), window.reset_index(drop=True)
    )


# -- fraud ---------------------------------------------------------------------------------------


def test_default_fraud_rate_is_about_half_a_percent(default_frame: pd.DataFrame) -> None:
    assert 0.003 <= default_frame["is_fraud"].mean() <= 0.01


def test_default_frauds_are_all_real_sparkov_night_sprees(default_frame: pd.DataFrame) -> None:
    frauds = default_frame[default_frame["is_fraud"] == 1]
    assert set(frauds[SCENARIO_COLUMN]) == {Scenario.NIGHT_SPREE.value}
    assert (default_frame.loc[default_frame["is_fraud"] == 0, SCENARIO_COLUMN] == "").all()
    night = _times(frauds).dt.hour.isin([22, 23, 0, 1, 2, 3]).mean()
    assert night > 0.75
    online = frauds["category"].isin(["shopping_net", "grocery_pos", "misc_net"]).mean()
    assert online > 0.45


def test_every_scenario_is_present_when_mixed(mixed_frame: pd.DataFrame) -> None:
    counts = mixed_frame.loc[mixed_frame["is_fraud"] == 1, SCENARIO_COLUMN].value_counts()
    assert set(counts.index) == {s.value for s in Scenario}
    assert (counts > 20).all()


def test_card_testing_is_a_burst_of_tiny_charges_then_cash_out(mixed_frame: pd.DataFrame) -> None:
    testing = mixed_frame[mixed_frame[SCENARIO_COLUMN] == Scenario.CARD_TESTING.value]
    tiny = testing[testing["amt"] < 5]
    assert len(tiny) > 0.6 * len(testing)
    per_card = tiny.groupby("cc_num")
    assert (per_card.size() >= 3).all()
    span = per_card["unix_time"].agg(lambda s: s.max() - s.min())
    assert (span < 3 * 3_600).mean() > 0.9
    assert testing.loc[testing["amt"] >= 5, "amt"].median() > 100


def test_far_from_home_frauds_happen_far_from_home(mixed_frame: pd.DataFrame) -> None:
    far = mixed_frame[mixed_frame[SCENARIO_COLUMN] == Scenario.FAR_FROM_HOME.value]
    km = haversine_km(
        far["lat"].to_numpy(),
        far["long"].to_numpy(),
        far["merch_lat"].to_numpy(),
        far["merch_long"].to_numpy(),
    )
    assert km.min() > 500
    legit = mixed_frame[mixed_frame["is_fraud"] == 0]
    near = haversine_km(
        legit["lat"].to_numpy(),
        legit["long"].to_numpy(),
        legit["merch_lat"].to_numpy(),
        legit["merch_long"].to_numpy(),
    )
    assert near.max() < 160


def test_blocked_cards_never_transact_after_their_streak(mixed_frame: pd.DataFrame) -> None:
    blocked = mixed_frame[mixed_frame[SCENARIO_COLUMN] == Scenario.STREAK_BLOCKED.value]
    last_fraud = blocked.groupby("cc_num")["unix_time"].max()
    last_any = (
        mixed_frame[mixed_frame["cc_num"].isin(last_fraud.index)]
        .groupby("cc_num")["unix_time"]
        .max()
    )
    assert len(last_fraud) > 5
    pd.testing.assert_series_equal(last_any.sort_index(), last_fraud.sort_index())


def test_victims_do_not_spend_legitimately_during_a_streak(default_frame: pd.DataFrame) -> None:
    frauds = default_frame[default_frame["is_fraud"] == 1].sort_values(["cc_num", "unix_time"])
    # A card can be compromised twice; a gap of three days between frauds starts a new streak.
    gap = frauds.groupby("cc_num")["unix_time"].diff().fillna(np.inf) > 3 * 86_400
    streak = gap.cumsum().rename("streak")
    spans = frauds.groupby(streak).agg(
        cc_num=("cc_num", "first"), low=("unix_time", "min"), high=("unix_time", "max")
    )
    legit = default_frame[default_frame["is_fraud"] == 0].merge(spans, on="cc_num")
    inside = (legit["unix_time"] >= legit["low"]) & (legit["unix_time"] <= legit["high"])
    assert len(spans) > 50
    assert not inside.any()


def test_drift_brings_a_new_scenario_after_its_time_and_not_before() -> None:
    drift_at = datetime(2019, 1, 22)
    params = SimParams(
        customers=800,
        fraud_rate=0.02,
        drift_at=drift_at,
        drift_scenario=Scenario.CARD_TESTING,
        drift_weight=0.5,
    )
    frame = Simulator(params, seed=21).frame(end=datetime(2019, 2, 12), scenario_column=True)
    frauds = frame[frame["is_fraud"] == 1]
    before = frauds[_times(frauds) < drift_at]
    after = frauds[_times(frauds) >= drift_at + timedelta(days=2)]
    assert len(before) > 100
    assert (before[SCENARIO_COLUMN] == Scenario.NIGHT_SPREE.value).all()
    streaks = after.groupby("cc_num")[SCENARIO_COLUMN].first().value_counts(normalize=True)
    assert 0.3 < streaks[Scenario.CARD_TESTING.value] < 0.7


# -- labels --------------------------------------------------------------------------------------


def test_labels_arrive_after_the_set_delay() -> None:
    sim = Simulator(SimParams(customers=300, fraud_rate=0.02, label_delay_days=4.5), seed=8)
    frame = sim.frame(5_000)
    labels = list(sim.labels(5_000))
    assert [label.trans_num for label in labels] == frame["trans_num"].tolist()
    assert [label.is_fraud for label in labels] == frame["is_fraud"].tolist()
    assert [label.cc_num for label in labels] == frame["cc_num"].tolist()
    delays = {
        label.available_at - datetime.fromisoformat(ts)
        for label, ts in zip(labels, frame["trans_date_trans_time"], strict=True)
    }
    assert delays == {timedelta(days=4.5)}
    record = labels[0].to_record()
    assert set(record) == {"trans_num", "cc_num", "is_fraud", "available_at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["available_at"])


# -- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_load_exactly_like_the_frame(tmp_path: Path, suffix: str) -> None:
    sim = Simulator(SimParams(customers=300, fraud_rate=0.02), seed=6)
    path = tmp_path / f"sim{suffix}"
    report = sim.write(path, 3_000)
    assert report.rows == 3_000
    loaded = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    expected = sim.frame(3_000)
    pd.testing.assert_frame_equal(loaded, expected)
    assert report.frauds == int(expected["is_fraud"].sum())


def test_the_index_column_layout_loads_like_kaggle_copies(tmp_path: Path) -> None:
    sim = Simulator(SimParams(customers=200), seed=6)
    path = tmp_path / "indexed.csv"
    sim.write(path, 2_500, index_column=True)
    assert path.read_text(encoding="utf-8").startswith(",trans_date_trans_time,")
    loaded = pd.read_csv(path)
    assert loaded.columns[0] == "Unnamed: 0"
    assert loaded["Unnamed: 0"].tolist() == list(range(2_500))
    pd.testing.assert_frame_equal(normalise_columns(loaded), sim.frame(2_500))


# -- knobs ---------------------------------------------------------------------------------------


def test_a_mix_without_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="positive weight"):
        SimParams(fraud_mix={Scenario.NIGHT_SPREE: 0.0})


def test_a_frame_needs_a_size_or_an_end() -> None:
    with pytest.raises(ConfigError, match="number of rows or an end"):
        Simulator(SimParams(customers=10)).frame()


def test_fraud_rate_zero_gives_no_fraud() -> None:
    frame = Simulator(SimParams(customers=300, fraud_rate=0.0), seed=1).frame(5_000)
    assert frame["is_fraud"].sum() == 0
    assert np.all(frame["is_fraud"].to_numpy() == 0)
