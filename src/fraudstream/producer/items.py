"""What every source hands the producer: a transaction ready for the topic, or a rejected one.

The rules are the schema's, applied twice over: :func:`~fraudstream.schema.check_frame` names
the broken field of each bad row of a frame that needs converting (a CSV read as text) at once,
and every record then passes the stream processor's own fast decoder
(:func:`fraudstream.wire.struct_for`) before it is sent. So what
the producer sends is exactly what the stream decodes on its fast path (canonical Kaggle JSON,
numbers as numbers), and a row the stream would dead-letter never reaches the topic; pydantic
names the problem of a row that fails only that last gate.
"""

from __future__ import annotations

import calendar
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import msgspec
import numpy as np
import orjson
import pandas as pd

from fraudstream.errors import InvalidTransaction, SourceError
from fraudstream.schema import (
    DOB_FORMAT,
    FEED_COLUMNS,
    LABEL_COLUMN,
    TIMESTAMP_FORMAT,
    Transaction,
    check_frame,
    missing_columns,
    parse_transaction,
)
from fraudstream.wire import struct_for

_gate = msgspec.json.Decoder(struct_for(Transaction)).decode
_COLUMNS: Final = list(FEED_COLUMNS)
_CARD, _TRANS_NUM = _COLUMNS.index("cc_num"), _COLUMNS.index("trans_num")
_NUMBERS: Final = {
    name: info.annotation
    for name, info in Transaction.model_fields.items()
    if name in FEED_COLUMNS and info.annotation in (int, float)
}
"""Feed columns the schema types as numbers (cc_num, amt, zip...), read from the model."""
_DATES: Final = {name for name, info in Transaction.model_fields.items() if info.annotation is date}
"""Columns of calendar dates (dob); the other time column is a Sparkov timestamp."""


@dataclass(slots=True)
class Outgoing:
    """A valid transaction: the message value, its key, and what the labels topic needs."""

    value: bytes
    """Canonical Kaggle JSON of the feed columns (no ``is_fraud``: the feed has no label)."""
    key: str
    """The card number as text: every transaction of a card lands on the same partition."""
    trans_num: str
    event_time: int
    """``trans_date_trans_time`` in seconds, read as UTC: the source's own clock."""
    is_fraud: int | None
    """The label when the source knows it (simulator, labelled files), else None."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that breaks the schema, as it was read, and why."""

    raw: bytes
    """The record as read (JSON), for the dead-letter topic."""
    key: str | None
    reason: str
    """Every broken field, or the first one for rows of a file (``"amt: must be a number"``)."""
    where: str
    """Where it came from: ``"fraudTest.csv row 17"``, ``"feed http://... answer 3"``."""


Item = Outgoing | Rejected


def _seconds(value: datetime) -> int:
    return calendar.timegm(value.timetuple())


def _text_key(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return str(value).strip() or None


def _labels(known: np.ndarray[Any, np.dtype[np.float64]]) -> list[int | None]:
    return [None if np.isnan(v) else int(v) for v in known.tolist()]


def _raw(row: dict[Any, Any]) -> bytes:
    return orjson.dumps(row, default=str, option=orjson.OPT_SERIALIZE_NUMPY)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows that passed ``check_frame``, in the schema's wire types (numbers, formatted text).

    A CSV read as text keeps card numbers exact; here they become integers again. A missing
    text cell becomes "" (an empty CSV cell is an empty string), which the gate then judges.
    """
    columns: dict[str, Any] = {}
    for name in _COLUMNS:
        column = frame[name]
        kind = _NUMBERS.get(name)
        if kind is int:
            columns[name] = pd.to_numeric(column).astype("int64")
        elif kind is float:
            columns[name] = pd.to_numeric(column).astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(column):
            columns[name] = column.dt.strftime(DOB_FORMAT if name in _DATES else TIMESTAMP_FORMAT)
        else:
            columns[name] = column.astype("string").fillna("").astype(object)
    return pd.DataFrame(columns, index=frame.index)


def _typed(frame: pd.DataFrame) -> bool:
    """True when every feed column already has its wire type: numbers as numbers, text as text
    without gaps. The simulator's frames are typed (as is a Parquet file written from them); a
    CSV read with card numbers as text is not. A typed frame needs no conversion, so the vectorised
    checks would only repeat what the gate does row by row."""
    types = pd.api.types
    for name in _COLUMNS:
        column = frame[name]
        kind = _NUMBERS.get(name)
        if kind is int:
            typed = types.is_integer_dtype(column.dtype) and not column.hasnans
        elif kind is float:
            typed = types.is_float_dtype(column.dtype)
        else:
            typed = types.is_string_dtype(column.dtype) and not column.hasnans
        if not typed:
            return False
    return True


def frame_items(frame: pd.DataFrame, origin: str, first_row: int = 0) -> Iterator[Item]:
    """Every row of a Kaggle-layout frame, in order, as :class:`Outgoing` or :class:`Rejected`.

    ``origin`` names the source in reasons, ``first_row`` is the position of the frame's first
    row in it (a file read in chunks). A frame without the Kaggle columns is a SourceError.
    """
    missing = missing_columns(frame)
    if missing:
        raise SourceError(
            f"{origin} lacks the column(s) {', '.join(missing)}: "
            "give a file in the Kaggle layout (fraudTrain.csv)"
        )
    if _typed(frame):  # nothing to convert: the gate alone judges every row
        reasons = np.full(len(frame), "", dtype=object)
        ok = np.ones(len(frame), dtype=bool)
        good = frame
    else:
        reasons = check_frame(frame).to_numpy()
        ok = reasons == ""
        good = _canonical(frame[ok])
    times = pd.to_datetime(good["trans_date_trans_time"], format=TIMESTAMP_FORMAT, errors="coerce")
    seconds = times.to_numpy().astype("datetime64[s]").astype(np.int64).tolist()
    labels: list[Any] = [None] * len(good)
    if LABEL_COLUMN in frame.columns:
        known = pd.to_numeric(frame.loc[ok, LABEL_COLUMN]).to_numpy(dtype=float)
        labels = known.astype(np.int64).tolist() if not np.isnan(known).any() else _labels(known)
    values = zip(*(good[name].tolist() for name in _COLUMNS), strict=True)
    positions = np.flatnonzero(ok).tolist()
    bad = [*np.flatnonzero(~ok).tolist(), len(frame)]  # a sentinel past the last row
    b = 0
    for position, fields, event_time, label in zip(positions, values, seconds, labels, strict=True):
        while bad[b] < position:  # the rejected rows before this one, in their place
            yield _rejected(frame, bad[b], str(reasons[bad[b]]), origin, first_row)
            b += 1
        record = dict(zip(_COLUMNS, fields, strict=True))
        value = orjson.dumps(record)
        try:
            _gate(value)
        except msgspec.ValidationError:
            yield _exact(record, event_time, label, f"{origin} row {first_row + position + 1}")
            continue
        yield Outgoing(value, str(fields[_CARD]), fields[_TRANS_NUM], event_time, label)
    for position in bad[b:-1]:
        yield _rejected(frame, position, str(reasons[position]), origin, first_row)


def _rejected(frame: pd.DataFrame, position: int, reason: str, origin: str, first: int) -> Item:
    row = frame.iloc[position].to_dict()
    where = f"{origin} row {first + position + 1}"
    return Rejected(_raw(row), _text_key(row.get("cc_num")), reason, where)


def _exact(record: dict[str, Any], event_time: int, label: int | None, where: str) -> Item:
    """A record the stream's fast decoder refused: pydantic names why, or accepts a foreign
    form of a value (then sent in canonical form)."""
    try:
        txn = parse_transaction(record)
    except InvalidTransaction as exc:
        return Rejected(orjson.dumps(record), _text_key(record.get("cc_num")), str(exc), where)
    value = orjson.dumps(txn.to_record())
    return Outgoing(value, str(txn.cc_num), txn.trans_num, event_time, label)


def answer_item(body: bytes, where: str) -> Item:
    """One answer of an HTTP feed: a JSON object of the Kaggle columns (``is_fraud`` optional).

    Foreign forms the schema accepts (a card number as a string) are sent in canonical form;
    a label in the answer is kept for the labels topic and left out of the transaction.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Rejected(body, None, f"not JSON: {exc}", where)
    if not isinstance(data, dict):
        return Rejected(body, None, "not a JSON object", where)
    key = _text_key(data.get("cc_num"))
    try:
        txn = parse_transaction(typing.cast(dict[str, Any], data))
    except InvalidTransaction as exc:
        return Rejected(body, key, str(exc), where)
    record = txn.to_record()
    record.pop(LABEL_COLUMN, None)
    return Outgoing(
        orjson.dumps(record),
        str(txn.cc_num),
        txn.trans_num,
        _seconds(txn.trans_date_trans_time),
        txn.is_fraud,
    )
