"""The fast decoder accepts and refuses exactly what the schema does."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.records import GOOD, transactions
from fraudstream.schema import Transaction
from fraudstream.wire import BatchDecoder, InvalidBatch, NotJson, struct_for

pytestmark = pytest.mark.unit

decoder = BatchDecoder(Transaction)


def fields(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in Transaction.model_fields}


@given(st.lists(transactions, min_size=1, max_size=5))
def test_valid_batches_decode_to_the_schema_values(records: list[dict[str, Any]]) -> None:
    fast = decoder.decode(orjson.dumps(records))
    exact = [Transaction.model_validate(r) for r in records]
    assert [fields(f) for f in fast] == [fields(e) for e in exact]


MUTATIONS: list[tuple[str, Any]] = [
    ("amt", -1),
    ("lat", 90.5),
    ("merch_long", 181),
    ("zip", 100000),
    ("state", "NCX"),
    ("gender", "f"),
    ("cc_num", 1234567),
    ("cc_num", 2**63),
    ("merchant", ""),
    ("trans_num", "  "),
    ("dob", "1988-13-01"),
    ("trans_date_trans_time", "2019-01-01 25:00:00"),
    ("trans_date_trans_time", "2019-01-01T00:00:18+02:00"),
    ("is_fraud", 2),
    ("city_pop", -3),
    # beyond what a later stage can hold (issue 15): each is refused at decode, by name
    ("unix_time", 10_000_000_000_000_000_000),
    ("unix_time", 5_000_000_000),
    ("city_pop", 2**31),
    ("amt", 1e300),
    ("merchant", "a\x00b"),
    ("street", "x" * 201),
    ("trans_num", "t" * 101),
    ("state", "N\x00"),
    ("trans_date_trans_time", "0001-01-01 00:00:00"),
    ("trans_date_trans_time", "2100-01-01 00:00:00"),
    ("dob", "1899-12-31"),
    # the rules a batch checks at once (wire.BATCH_PATTERNS, dates): caught on both paths too
    ("category", "\u00a0\u2003"),  # white space beyond ASCII is blank too
    ("first", "Ann\x00"),
    ("city", "\x00"),
]


@pytest.mark.parametrize(("field", "value"), MUTATIONS)
def test_each_rule_refuses_on_both_paths(field: str, value: Any) -> None:
    bad = {**GOOD, field: value}
    with pytest.raises(InvalidBatch) as info:
        decoder.decode(orjson.dumps([GOOD, bad]))
    [error] = info.value.errors
    assert error.index == 1
    assert [p.field for p in error.problems] == [field]
    with pytest.raises(ValueError, match=field):
        Transaction.model_validate(bad)


def test_a_valid_batch_stays_on_the_fast_path_and_a_false_nul_alarm_is_accepted() -> None:
    [fast] = decoder.decode(orjson.dumps([GOOD]))
    assert not isinstance(fast, Transaction)  # a struct: the batch checks passed it
    text = {**GOOD, "street": "12 Backslash\\u0000 Road"}  # the text "\u0000", not a NUL
    [slow] = decoder.decode(orjson.dumps([text]))
    assert slow.street == "12 Backslash\\u0000 Road"


def test_foreign_forms_take_the_slow_path_and_are_accepted() -> None:
    [item] = decoder.decode(orjson.dumps([{**GOOD, "cc_num": str(GOOD["cc_num"])}]))
    assert item.cc_num == GOOD["cc_num"]


def test_every_bad_item_is_listed_with_its_index() -> None:
    body = orjson.dumps([{**GOOD, "amt": -1}, GOOD, {**GOOD, "lat": 100, "dob": "x"}])
    with pytest.raises(InvalidBatch) as info:
        decoder.decode(body)
    found = {(e.index, p.field) for e in info.value.errors for p in e.problems}
    assert found == {(0, "amt"), (2, "lat"), (2, "dob")}


def test_not_json_and_not_an_array_are_told_apart() -> None:
    with pytest.raises(NotJson):
        decoder.decode(b'[{"amt": ')
    with pytest.raises(NotJson):  # msgspec raises UnicodeDecodeError for bad UTF-8
        decoder.decode(b'["\xff"]')
    with pytest.raises(InvalidBatch, match="JSON array"):
        decoder.decode(b'{"amt": 1}')


def test_python_validators_cannot_hide_from_the_fast_path() -> None:
    from typing import Annotated

    from pydantic import AfterValidator, BaseModel

    class Sneaky(BaseModel):
        value: Annotated[int, AfterValidator(lambda v: v)]

    with pytest.raises(TypeError, match="cannot be mirrored"):
        struct_for(Sneaky)


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_mutated = st.builds(
    lambda field, value: [{**GOOD, field: value}], st.sampled_from(list(GOOD)), _scalars
)


@given(st.binary(max_size=300) | _mutated.map(lambda items: json.dumps(items).encode()))
def test_any_bytes_decode_or_are_refused_by_name(body: bytes) -> None:
    """Whatever arrives, the decoder answers with items or one of its two refusals."""
    with contextlib.suppress(NotJson, InvalidBatch):
        decoder.decode(body)
