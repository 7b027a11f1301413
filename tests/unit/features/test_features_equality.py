"""The promise of the features package: batch (trainer) and stream (one event at a time) give
the same numbers, and a row's features never depend on anything after it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudstream.features import CardState, advance, batch_features, transaction_features
from fraudstream.schema import parse_transaction

pytestmark = pytest.mark.unit


def stream_features(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Feed the rows one at a time in unix_time order through per-card states, as the stream
    does; return the features and the row order used."""
    order = np.argsort(frame["unix_time"].to_numpy(), kind="stable")
    records = frame.to_dict("records")
    states: dict[int, CardState] = {}
    txns, histories = [], []
    for i in order:
        txn = parse_transaction(records[i])
        histories.append(advance(states.setdefault(txn.cc_num, CardState()), txn))
        txns.append(txn)
    return transaction_features(txns, histories), order


def test_batch_equals_stream_on_20000_transactions(tie_heavy_frame: pd.DataFrame) -> None:
    batch = batch_features(tie_heavy_frame).to_numpy()
    stream, order = stream_features(tie_heavy_frame)
    assert batch.shape == (20_000, len(batch[0]))
    np.testing.assert_array_equal(batch[order], stream)
    # the comparison is not vacuous: the card features take many distinct values
    assert len(np.unique(batch[:, -6])) > 100


def test_batch_ignores_the_frame_row_order(tie_heavy_frame: pd.DataFrame) -> None:
    # shuffling rows with different unix_time keeps each card's order, hence its features
    frame = tie_heavy_frame.drop_duplicates(["cc_num", "unix_time"], keep=False)
    shuffled = frame.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(batch_features(shuffled).loc[frame.index], batch_features(frame))


def test_no_leakage_features_at_t_unchanged_when_later_rows_are_added(
    tie_heavy_frame: pd.DataFrame,
) -> None:
    full = batch_features(tie_heavy_frame)
    for cut in (1, 777, 10_000, 19_999):
        prefix = tie_heavy_frame.iloc[:cut]
        pd.testing.assert_frame_equal(batch_features(prefix), full.iloc[:cut])


@pytest.mark.realdata
def test_batch_equals_stream_on_real_rows() -> None:
    path = os.environ.get("FRAUD_REAL_DATA")
    if not path or not Path(path).is_file():
        pytest.skip("FRAUD_REAL_DATA is not set to the real Sparkov sample")
    frame = pd.read_csv(path)
    stream, order = stream_features(frame)
    np.testing.assert_array_equal(batch_features(frame).to_numpy()[order], stream)
