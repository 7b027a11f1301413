"""Invalid-row handling: every row of a frame becomes a transaction the stream decodes on its
fast path, or a rejected record that names the broken field, its position and its bytes."""

from __future__ import annotations

import io
from typing import Any

import msgspec
import orjson
import pandas as pd
import pytest

from fixtures.frames import frame_of, record
from fixtures.records import GOOD
from fraudstream.errors import SourceError
from fraudstream.producer.items import Outgoing, Rejected, _typed, answer_item, frame_items
from fraudstream.schema import FEED_COLUMNS, Transaction
from fraudstream.simulator import SimParams, Simulator
from fraudstream.wire import struct_for

pytestmark = pytest.mark.unit

fast_decode = msgspec.json.Decoder(struct_for(Transaction)).decode
"""The stream processor's fast path: it raises on anything it would hand to pydantic."""


def as_csv_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the replay reads a CSV: every cell text, empty cells missing."""
    return pd.read_csv(io.StringIO(frame.to_csv(index=False)), dtype=str)


def test_valid_rows_become_what_the_stream_decodes_on_its_fast_path() -> None:
    rows = [
        record(seconds=i, trans_num=f"t{i}", cc_num=4_000_000_000_000_000 + i) for i in range(5)
    ]
    rows[2]["is_fraud"] = 1
    items = list(frame_items(as_csv_text(frame_of(rows)), "test.csv"))

    assert all(isinstance(i, Outgoing) for i in items)
    outgoing = [i for i in items if isinstance(i, Outgoing)]
    for item, row in zip(outgoing, rows, strict=True):
        assert fast_decode(item.value).trans_num == row["trans_num"]
        assert item.key == str(row["cc_num"])
        assert item.trans_num == row["trans_num"]
        assert list(orjson.loads(item.value)) == list(FEED_COLUMNS)  # no is_fraud, Kaggle order
        expected = Transaction.model_validate(row).model_dump(mode="json", exclude={"is_fraud"})
        assert orjson.loads(item.value) == expected
    assert [i.is_fraud for i in outgoing] == [0, 0, 1, 0, 0]
    assert outgoing[1].event_time - outgoing[0].event_time == 1


def test_a_nineteen_digit_card_stays_exact_beside_an_empty_cell() -> None:
    big = 9_223_372_036_854_775_000
    rows = [record(cc_num=big), record(seconds=1, cc_num="", trans_num="t-empty")]
    items = list(frame_items(as_csv_text(frame_of(rows)), "cards.csv"))

    assert isinstance(items[0], Outgoing)
    assert items[0].key == str(big)
    assert orjson.loads(items[0].value)["cc_num"] == big
    assert isinstance(items[1], Rejected)
    assert items[1].reason.startswith("cc_num: must be a card number")


def test_invalid_rows_name_the_field_and_keep_their_place() -> None:
    rows = [record(seconds=i, trans_num=f"t{i}") for i in range(6)]
    rows[1]["amt"] = "twelve"
    rows[3]["state"] = "NCC"  # caught by the stream's own decoder, not by check_frame
    rows[4]["trans_date_trans_time"] = "yesterday"
    frame = as_csv_text(frame_of(rows))

    items = list(frame_items(frame, "fraudTest.csv", first_row=1_000))

    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Outgoing", "Rejected", "Outgoing", "Rejected", "Rejected", "Outgoing"]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.where for r in rejected] == [
        "fraudTest.csv row 1002",
        "fraudTest.csv row 1004",
        "fraudTest.csv row 1005",
    ]
    assert rejected[0].reason == "amt: must be a number"
    assert rejected[1].reason.startswith("state: ")
    assert rejected[2].reason.startswith("trans_date_trans_time: must be a timestamp")
    raw: dict[str, Any] = orjson.loads(rejected[0].raw)
    assert raw["amt"] == "twelve"  # the record as it was read
    assert raw["trans_num"] == "t1"
    assert rejected[0].key == str(rows[1]["cc_num"])


def test_a_frame_without_the_kaggle_columns_is_refused_whole() -> None:
    frame = frame_of([record()]).drop(columns=["amt", "merchant"])
    with pytest.raises(SourceError, match=r"other\.csv lacks the column\(s\) merchant, amt"):
        list(frame_items(frame, "other.csv"))


def test_a_missing_label_is_no_label() -> None:
    frame = frame_of([record(), record(seconds=1, trans_num="t1", is_fraud=None)])
    assert [i.is_fraud for i in frame_items(frame, "x") if isinstance(i, Outgoing)] == [0, None]
    no_column = frame_of([record()]).drop(columns=["is_fraud"])
    assert [i.is_fraud for i in frame_items(no_column, "x") if isinstance(i, Outgoing)] == [None]


def test_a_feed_answer_becomes_a_canonical_transaction() -> None:
    answer = {**GOOD, "cc_num": str(GOOD["cc_num"]), "is_fraud": 1}  # a card number as text
    item = answer_item(orjson.dumps(answer), "feed http://f answer 1")

    assert isinstance(item, Outgoing)
    value = orjson.loads(item.value)
    assert value["cc_num"] == GOOD["cc_num"]
    assert "is_fraud" not in value
    assert item.is_fraud == 1
    assert item.key == str(GOOD["cc_num"])
    assert fast_decode(item.value).cc_num == GOOD["cc_num"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>busy</html>", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (orjson.dumps({k: v for k, v in GOOD.items() if k != "merchant"}), "merchant: is missing"),
    ],
)
def test_a_bad_feed_answer_is_rejected_with_its_body(body: bytes, reason: str) -> None:
    item = answer_item(body, "feed http://f answer 7")
    assert isinstance(item, Rejected)
    assert reason in item.reason
    assert item.raw == body
    assert item.where == "feed http://f answer 7"


def test_every_problem_of_a_feed_answer_is_named() -> None:
    item = answer_item(orjson.dumps({**GOOD, "amt": -3, "gender": "X"}), "feed")
    assert isinstance(item, Rejected)
    assert "amt: " in item.reason
    assert "gender: " in item.reason
    assert item.key == str(GOOD["cc_num"])


def test_a_typed_frame_goes_straight_to_the_gate_which_names_the_field() -> None:
    rows = [record(seconds=i, trans_num=f"t{i}") for i in range(4)]
    rows[1]["amt"] = -3.0
    rows[2]["state"] = "NCC"
    frame = frame_of(rows)
    assert _typed(frame)
    assert not _typed(as_csv_text(frame))

    items = list(frame_items(frame, "typed.parquet"))

    assert [type(i).__name__ for i in items] == ["Outgoing", "Rejected", "Rejected", "Outgoing"]
    first, second = items[1], items[2]
    assert isinstance(first, Rejected)
    assert isinstance(second, Rejected)
    assert first.reason == "amt: Input should be greater than or equal to 0, got -3.0"
    assert "state: " in second.reason
    assert (first.where, second.where) == ("typed.parquet row 2", "typed.parquet row 3")


def test_the_simulator_s_frames_are_typed() -> None:
    sim = Simulator(SimParams(customers=50), seed=1)
    assert _typed(sim.frame(200))
