"""Each stateless feature, on hand-made transactions with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fixtures.frames import frame_of, record
from fraudstream.features import FEATURE_NAMES, STATELESS_NAMES, batch_features
from fraudstream.features.matrix import haversine_km
from fraudstream.schema import CATEGORIES

pytestmark = pytest.mark.unit


def features_of(**overrides: object) -> dict[str, float]:
    row = batch_features(frame_of([record(**overrides)])).iloc[0]
    return {name: float(row[name]) for name in FEATURE_NAMES}


def test_amount_and_its_log() -> None:
    f = features_of(amt=99.0)
    assert f["amt"] == 99.0
    assert f["log_amt"] == pytest.approx(math.log(100.0))


def test_hour_and_weekday_come_from_the_local_timestamp() -> None:
    # 2020-06-01 was a Monday; the unix_time is deliberately inconsistent and must not matter
    f = features_of(trans_date_trans_time="2020-06-07 23:59:59", unix_time=0)
    assert f["hour"] == 23
    assert f["weekday"] == 6


def test_age_at_transaction_in_years() -> None:
    f = features_of(trans_date_trans_time="2020-06-01 00:00:00", dob="1980-06-01")
    assert f["age"] == pytest.approx(40.0, abs=0.01)


def test_distance_is_haversine_in_km() -> None:
    assert features_of(merch_lat=39.78, merch_long=-89.65)["distance_km"] == 0.0
    one_degree = features_of(lat=10.0, long=20.0, merch_lat=11.0, merch_long=20.0)
    assert one_degree["distance_km"] == pytest.approx(111.19, abs=0.05)
    # Paris -> London, a textbook 343.5 km
    d = haversine_km(
        np.array([48.8566]), np.array([2.3522]), np.array([51.5074]), np.array([-0.1278])
    )
    assert d[0] == pytest.approx(343.5, abs=1.0)


@pytest.mark.parametrize("category", CATEGORIES)
def test_category_is_one_hot(category: str) -> None:
    f = features_of(category=category)
    hot = [c for c in CATEGORIES if f[f"cat_{c}"] == 1.0]
    assert hot == [category]
    assert sum(f[f"cat_{c}"] for c in CATEGORIES) == 1.0


def test_unknown_category_is_all_zero() -> None:
    f = features_of(category="crypto_exchange")
    assert all(f[f"cat_{c}"] == 0.0 for c in CATEGORIES)


def test_city_population_and_gender() -> None:
    f = features_of(city_pop=999, gender="M")
    assert f["log_city_pop"] == pytest.approx(math.log(1000))
    assert f["gender_m"] == 1.0
    assert features_of(gender="F")["gender_m"] == 0.0


def test_names_are_unique_and_stateless_ones_come_first() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert FEATURE_NAMES[: len(STATELESS_NAMES)] == STATELESS_NAMES
