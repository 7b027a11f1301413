"""The pure parts of the dashboard's queries: filter clauses and time buckets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fraudstream.dashboard.queries import TransactionFilter, bucket_for

pytestmark = pytest.mark.unit


def test_an_empty_filter_is_only_the_time_window() -> None:
    where, params = TransactionFilter(window=timedelta(hours=1)).where(flagged_only=False)
    assert where == "scored_at >= now() - %(window)s"
    assert params == {"window": timedelta(hours=1)}


def test_each_filter_adds_one_clause_and_its_value_as_a_parameter() -> None:
    chosen = TransactionFilter(
        categories=("travel",), states=("NY", "CA"), amount_min=10.0, amount_max=500.0
    )
    where, params = chosen.where(flagged_only=True)
    assert where.split(" AND ") == [
        "scored_at >= now() - %(window)s",
        "is_fraud_pred = 1",
        "category = ANY(%(categories)s)",
        "state = ANY(%(states)s)",
        "amt >= %(amount_min)s",
        "amt <= %(amount_max)s",
    ]
    assert params["categories"] == ["travel"]
    assert params["states"] == ["NY", "CA"]
    assert (params["amount_min"], params["amount_max"]) == (10.0, 500.0)


def test_values_never_enter_the_sql_text() -> None:
    hostile = TransactionFilter(categories=("x'); DROP TABLE labels; --",))
    where, params = hostile.where(flagged_only=True)
    assert "DROP" not in where
    assert params["categories"] == ["x'); DROP TABLE labels; --"]


@pytest.mark.parametrize(
    ("window", "bucket"),
    [
        (timedelta(minutes=5), timedelta(seconds=5)),
        (timedelta(minutes=15), timedelta(seconds=10)),
        (timedelta(hours=1), timedelta(minutes=1)),
        (timedelta(hours=24), timedelta(minutes=30)),
        (timedelta(days=7), timedelta(hours=3)),
        (timedelta(days=30), timedelta(days=1)),
        (timedelta(days=3650), timedelta(days=1)),
    ],
)
def test_a_window_is_drawn_in_at_most_ninety_points(window: timedelta, bucket: timedelta) -> None:
    assert bucket_for(window) == bucket
    assert window / bucket <= 90 or bucket == timedelta(days=1)
