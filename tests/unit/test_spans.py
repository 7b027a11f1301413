"""The spans of a run: labels must have had time to arrive, and no model is scored on rows it
learnt from."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fraudstream.config import Settings
from fraudstream.spans import plan

pytestmark = pytest.mark.unit

NOW = datetime(2020, 6, 30, 12, 0, 0)
SECOND = timedelta(seconds=1)


def settings(**fields: object) -> Settings:
    base: dict[str, object] = {
        "challenger_window_days": 14,
        "challenger_label_wait_days": 3,
        "challenger_history_days": 30,
        "challenger_train_days": 30,
        "drift_window_days": 7,
    }
    return Settings(_env_file=None, **(base | fields))  # type: ignore[arg-type]


def test_the_window_closes_a_label_wait_before_the_latest_transaction() -> None:
    spans = plan(NOW, settings())
    assert spans.evaluate_end == NOW - timedelta(days=3) + SECOND  # the cut-off itself counts
    assert spans.evaluate_start == spans.evaluate_end - timedelta(days=14)
    assert spans.history_start == spans.evaluate_start - timedelta(days=30)
    assert spans.train_start == spans.evaluate_end - timedelta(days=30)
    assert spans.drift_start == NOW - timedelta(days=7)
    assert spans.held_back_until is None


def test_the_read_covers_every_part_and_the_latest_row() -> None:
    spans = plan(
        NOW, settings(challenger_history_days=0, challenger_train_days=1, challenger_window_days=1)
    )
    assert spans.read_start == spans.drift_start - timedelta(days=7)  # card history of drift
    assert spans.read_end > NOW
    spans = plan(NOW, settings())
    assert spans.read_start == min(spans.history_start, spans.train_start)


def test_rows_a_model_learnt_from_are_left_out() -> None:
    seen = NOW - timedelta(days=10)
    spans = plan(NOW, settings(), [None, seen])
    assert spans.evaluate_start == seen + SECOND
    assert spans.held_back_until == seen
    assert spans.evaluate_end == NOW - timedelta(days=3) + SECOND


def test_a_model_trained_on_everything_leaves_an_empty_window() -> None:
    spans = plan(NOW, settings(), [NOW])
    assert spans.evaluate_start == spans.evaluate_end


def test_training_older_than_the_window_restricts_nothing() -> None:
    spans = plan(NOW, settings(), [NOW - timedelta(days=60), None])
    assert spans.evaluate_start == spans.evaluate_end - timedelta(days=14)
    assert spans.held_back_until is None
