"""The transaction contract: good Kaggle rows pass, each kind of bad value is named."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest
from hypothesis import given

from fixtures.records import GOOD, transactions
from fraudstream.errors import InvalidTransaction
from fraudstream.schema import (
    FEED_COLUMNS,
    KAGGLE_COLUMNS,
    Transaction,
    check_frame,
    normalise_columns,
    parse_transaction,
    parse_transactions,
)

pytestmark = pytest.mark.unit


def test_good_row_round_trips_to_the_same_record() -> None:
    txn = parse_transaction(GOOD)
    assert txn.trans_date_trans_time == datetime(2019, 1, 1, 0, 0, 18)
    assert txn.dob == date(1988, 3, 9)
    assert txn.to_record() == GOOD
    assert list(txn.to_record()) == list(KAGGLE_COLUMNS)


def test_label_is_optional_and_absent_from_the_feed_record() -> None:
    row = {k: v for k, v in GOOD.items() if k != "is_fraud"}
    txn = parse_transaction(row)
    assert txn.is_fraud is None
    assert list(txn.to_record()) == list(FEED_COLUMNS)


def test_card_number_as_digit_string_is_accepted() -> None:
    assert parse_transaction({**GOOD, "cc_num": "2703186189652095"}).cc_num == 2703186189652095


def test_unknown_category_is_accepted_and_flagged() -> None:
    txn = parse_transaction({**GOOD, "category": "crypto"})
    assert not txn.category_known
    assert parse_transaction(GOOD).category_known


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("amt", -0.01, "greater than or equal to 0"),
        ("amt", "lots", "valid number"),
        ("lat", 91.0, "less than or equal to 90"),
        ("long", -180.5, "greater than or equal to -180"),
        ("merch_lat", float("nan"), "finite number"),
        ("trans_date_trans_time", "2019-02-30 10:00:00", "must be a timestamp"),
        ("trans_date_trans_time", "yesterday", "must be a timestamp"),
        ("dob", "09/03/1988", "must be a date"),
        ("cc_num", "2.70E+15", "8 to 19 digits"),
        ("cc_num", 1234, "8 to 19 digits"),
        ("cc_num", True, "8 to 19 digits"),
        ("cc_num", 9223372036854775808, "8 to 19 digits"),
        ("trans_num", "   ", "must not be empty"),
        ("gender", "X", "'F' or 'M'"),
        ("is_fraud", 2, "0 or 1"),
        ("zip", -5, "greater than or equal to 0"),
        ("unix_time", 10**19, "less than 4102444800"),
        ("city_pop", 2**31, "less than or equal to 2147483647"),
        ("amt", 1e12, "less than or equal to 10000000"),
        ("merchant", "fraud_\x00", "NUL"),
        ("job", "j" * 201, "at most 200 characters"),
        ("trans_date_trans_time", "1899-12-31 23:59:59", "greater than or equal to 1900"),
        ("dob", "2100-01-01", "less than 2100-01-01"),
    ],
)
def test_each_bad_value_is_named(field: str, value: object, words: str) -> None:
    with pytest.raises(InvalidTransaction) as info:
        parse_transaction({**GOOD, field: value}, index=7)
    assert [p.field for p in info.value.problems] == [field]
    assert words in info.value.problems[0].problem
    assert str(info.value).startswith("transaction 7: " + field)


def test_missing_field_is_named() -> None:
    row = {k: v for k, v in GOOD.items() if k != "merchant"}
    with pytest.raises(InvalidTransaction, match="merchant: is missing"):
        parse_transaction(row)


def test_every_bad_field_is_reported_not_only_the_first() -> None:
    with pytest.raises(InvalidTransaction) as info:
        parse_transaction({**GOOD, "amt": -1, "lat": 200, "dob": "x"})
    assert {p.field for p in info.value.problems} == {"amt", "lat", "dob"}


def test_parse_transactions_keeps_good_rows_and_indexes_bad_ones() -> None:
    good, bad = parse_transactions([GOOD, {**GOOD, "amt": -1}, "not an object", GOOD])  # type: ignore[list-item]
    assert len(good) == 2
    assert [e.index for e in bad] == [1, 2]
    assert bad[1].problems[0].field == "record"


def test_frame_checks_match_record_checks() -> None:
    rows = [
        GOOD,
        {**GOOD, "amt": -1},
        {**GOOD, "lat": 95},
        {**GOOD, "dob": "bad"},
        {**GOOD, "cc_num": "12ab"},
        {**GOOD, "trans_date_trans_time": "2019-13-01 00:00:00"},
        {**GOOD, "gender": "Q"},
        {**GOOD, "trans_num": ""},
        {**GOOD, "is_fraud": 3},
        {**GOOD, "unix_time": 10**19},
        {**GOOD, "city_pop": 2**31},
        {**GOOD, "amt": 1e12},
        {**GOOD, "merchant": "a\x00"},
        {**GOOD, "city": "c" * 201},
        {**GOOD, "trans_date_trans_time": "1850-01-01 00:00:00"},
        {**GOOD, "dob": "2150-01-01"},
        {**GOOD, "state": "N"},
    ]
    reasons = check_frame(pd.DataFrame(rows, columns=list(KAGGLE_COLUMNS)))
    assert reasons.iloc[0] == ""
    fields = [r.split(":")[0] for r in reasons.iloc[1:]]
    assert fields == [
        "amt",
        "lat",
        "dob",
        "cc_num",
        "trans_date_trans_time",
        "gender",
        "trans_num",
        "is_fraud",
        "unix_time",
        "city_pop",
        "amt",
        "merchant",
        "city",
        "trans_date_trans_time",
        "dob",
        "state",
    ]
    for row, reason in zip(rows[1:], reasons.iloc[1:], strict=True):
        with pytest.raises(InvalidTransaction) as info:
            parse_transaction(row)
        assert info.value.problems[0].field == reason.split(":")[0]


def test_index_column_is_dropped() -> None:
    frame = pd.DataFrame([GOOD]).reset_index(names="Unnamed: 0")
    assert list(normalise_columns(frame).columns) == list(KAGGLE_COLUMNS)
    assert list(normalise_columns(pd.DataFrame([GOOD])).columns) == list(KAGGLE_COLUMNS)


@given(transactions)
def test_any_valid_record_round_trips(record: dict[str, Any]) -> None:
    txn = parse_transaction(record)
    assert txn.to_record() == record
    assert Transaction.model_validate_json(txn.model_dump_json()) == txn


@given(transactions)
def test_frame_and_record_rules_agree_on_valid_records(record: dict[str, Any]) -> None:
    assert check_frame(pd.DataFrame([record])).iloc[0] == ""
