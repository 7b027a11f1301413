"""Per-card features: known values on hand-made histories, and the stream path's state."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from fixtures.frames import frame_of, record
from fraudstream.features import (
    FEATURE_NAMES,
    NO_HISTORY,
    CardState,
    advance,
    batch_features,
    transaction_features,
    update_and_features,
)
from fraudstream.features.definition import MERCHANT_MEMORY_SECONDS
from fraudstream.schema import parse_transaction

pytestmark = pytest.mark.unit

HOUR, DAY = 3_600, 86_400


def last_row(records: list[dict[str, Any]]) -> dict[str, float]:
    row = batch_features(frame_of(records)).iloc[-1]
    return {name: float(row[name]) for name in FEATURE_NAMES}


def test_first_transaction_gets_the_no_history_values() -> None:
    f = last_row([record(amt=50.0)])
    assert f["has_history"] == 0.0
    assert f["log_n_prev"] == 0.0
    assert f["log_secs_since_prev"] == -1.0
    assert all(f[f"count_{w}"] == 0.0 for w in ("1h", "24h", "7d"))
    assert all(f[f"log_sum_{w}"] == 0.0 for w in ("1h", "24h", "7d"))
    assert f["amt_vs_card_mean"] == 0.0
    assert f["new_merchant"] == 1.0
    assert f["new_category"] == 1.0


def test_time_since_previous_and_number_of_previous() -> None:
    f = last_row([record(seconds=0), record(seconds=100), record(seconds=160)])
    assert f["has_history"] == 1.0
    assert f["log_n_prev"] == pytest.approx(math.log1p(2))
    assert f["log_secs_since_prev"] == pytest.approx(math.log1p(60))


def test_windows_count_and_sum_earlier_amounts_strictly_inside() -> None:
    history = [
        record(seconds=0, amt=1.00),  # exactly 7 d before: outside every window
        record(seconds=1, amt=2.00),  # inside 7 d only
        record(seconds=6 * DAY, amt=4.00),  # 24 h boundary + 1 s: inside 24 h
        record(seconds=7 * DAY - HOUR, amt=8.00),  # exactly 1 h before: outside 1 h
        record(seconds=7 * DAY - 10, amt=16.00),  # inside 1 h
    ]
    f = last_row([*history, record(seconds=7 * DAY, amt=0.5)])
    assert (f["count_1h"], f["count_24h"], f["count_7d"]) == (1.0, 2.0, 4.0)
    assert f["log_sum_1h"] == pytest.approx(math.log1p(16.0))
    assert f["log_sum_24h"] == pytest.approx(math.log1p(24.0))
    assert f["log_sum_7d"] == pytest.approx(math.log1p(30.0))


def test_transactions_in_the_same_second_count_in_arrival_order() -> None:
    frame = frame_of([record(seconds=5, trans_num="a"), record(seconds=5, trans_num="b")])
    features = batch_features(frame)
    assert features["count_1h"].tolist() == [0.0, 1.0]
    assert features["log_secs_since_prev"].tolist() == [-1.0, 0.0]


def test_amount_against_the_cards_running_mean() -> None:
    f = last_row(
        [record(seconds=0, amt=9.0), record(seconds=1, amt=29.0), record(seconds=2, amt=199.0)]
    )
    assert f["amt_vs_card_mean"] == pytest.approx(math.log1p(199.0) - math.log1p(19.0))


def test_new_merchant_forgets_after_the_memory() -> None:
    seen = record(seconds=0, merchant="fraud_A")
    assert last_row([seen, record(seconds=10, merchant="fraud_A")])["new_merchant"] == 0.0
    assert last_row([seen, record(seconds=10, merchant="fraud_B")])["new_merchant"] == 1.0
    limit = MERCHANT_MEMORY_SECONDS
    assert last_row([seen, record(seconds=limit - 1, merchant="fraud_A")])["new_merchant"] == 0.0
    assert last_row([seen, record(seconds=limit, merchant="fraud_A")])["new_merchant"] == 1.0


def test_new_category_is_per_card_and_lifetime() -> None:
    seen = record(seconds=0, category="travel")
    assert last_row([seen, record(seconds=90 * DAY, category="travel")])["new_category"] == 0.0
    assert last_row([seen, record(seconds=1, category="home")])["new_category"] == 1.0


def test_other_cards_do_not_count() -> None:
    other = record(seconds=0, cc_num=4_111_111_111_111_111, merchant="fraud_A")
    f = last_row([other, record(seconds=10, merchant="fraud_A")])
    assert f["has_history"] == 0.0
    assert f["new_merchant"] == 1.0


def test_the_label_never_changes_a_feature() -> None:
    rows = [record(seconds=i * 600, amt=5.0 + i, is_fraud=i % 2) for i in range(6)]
    flipped = [{**r, "is_fraud": 1 - r["is_fraud"]} for r in rows]
    assert batch_features(frame_of(rows)).equals(batch_features(frame_of(flipped)))


def test_stream_step_matches_batch_on_a_small_history() -> None:
    rows = [record(seconds=s, amt=a) for s, a in ((0, 3.0), (50, 7.5), (4_000, 1.25))]
    state = CardState()
    stream = np.vstack([update_and_features(state, parse_transaction(r)) for r in rows])
    np.testing.assert_array_equal(stream, batch_features(frame_of(rows)).to_numpy())
    assert state.count == 3
    assert state.total_cents == 1175


def test_card_state_survives_msgpack_and_json() -> None:
    state = CardState()
    for s in (0, 100, 2 * DAY):
        advance(state, parse_transaction(record(seconds=s, merchant=f"fraud_{s}")))
    assert CardState.from_bytes(state.to_bytes()) == state
    assert CardState.from_json(state.to_json()) == state
    assert len(state.to_bytes()) < 200


def test_a_copy_is_equal_and_advancing_it_leaves_the_original_alone() -> None:
    state = CardState()
    for s in (0, 100, 2 * DAY):
        advance(state, parse_transaction(record(seconds=s, merchant=f"fraud_{s}")))
    before = state.to_bytes()
    copied = state.copy()
    assert copied == state
    for name in CardState.__struct_fields__:  # every container its own, whatever is added
        value = getattr(state, name)
        if isinstance(value, list | dict | set):
            assert getattr(copied, name) is not value, name
    advance(copied, parse_transaction(record(seconds=3 * DAY, merchant="fraud_new")))
    assert copied.count == state.count + 1
    assert state.to_bytes() == before


def test_card_state_forgets_what_no_later_transaction_needs() -> None:
    state = CardState()
    for day in range(60):
        advance(state, parse_transaction(record(seconds=day * DAY, merchant=f"fraud_{day}")))
    assert len(state.times) == 7  # the longest window
    assert len(state.merchants) == 30  # the merchant memory
    assert state.count == 60


def test_a_late_event_is_absorbed_without_crashing() -> None:
    state = CardState()
    advance(state, parse_transaction(record(seconds=1_000)))
    late = advance(state, parse_transaction(record(seconds=10)))
    assert late.secs_since_prev == 0
    assert late.counts == (0, 0, 0)  # the later-timed entry is not "earlier"
    assert state.times == [
        record(seconds=10)["unix_time"],
        record(seconds=1_000)["unix_time"],
    ]


def test_service_path_without_history_gives_first_transaction_values() -> None:
    txn = parse_transaction(record(seconds=0, amt=42.0))
    without = transaction_features([txn])
    explicit = transaction_features([txn], [NO_HISTORY])
    np.testing.assert_array_equal(without, explicit)
    np.testing.assert_array_equal(without, batch_features(frame_of([record(amt=42.0)])).to_numpy())
    with pytest.raises(ValueError, match="histories"):
        transaction_features([txn], [])
