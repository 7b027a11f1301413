"""The Sparkov transaction, the verdict, and the rules a fraud engineer expects of them.

This module is the single source of truth for the data contract. The producer, the stream
processor, the model service, the trainer's loader and the simulator all import it; none of
them restates a column name, a format or a bound. The messages between processes are here too:
the model service's answer (:class:`Prediction`, and the API key's header), the verdict and
the label on their topics.

Two shapes of the same rules: :class:`Transaction` checks one record (Kafka message, API item,
HTTP feed answer) and :func:`check_frame` checks a whole pandas frame at once (files of a
million rows), naming for each bad row the first field that broke a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal

import numpy as np
import pandas as pd
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NaiveDatetime,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from fraudstream.errors import FieldProblem, InvalidTransaction

# -- the Kaggle file layout -------------------------------------------------------------------
FEED_COLUMNS: Final = (
    "trans_date_trans_time",
    "cc_num",
    "merchant",
    "category",
    "amt",
    "first",
    "last",
    "gender",
    "street",
    "city",
    "state",
    "zip",
    "lat",
    "long",
    "city_pop",
    "job",
    "dob",
    "trans_num",
    "unix_time",
    "merch_lat",
    "merch_long",
)
"""The columns of the live feed, in Kaggle order (no label)."""

LABEL_COLUMN: Final = "is_fraud"
KAGGLE_COLUMNS: Final = (*FEED_COLUMNS, LABEL_COLUMN)
"""The 22 named columns of fraudTrain.csv / fraudTest.csv, in order."""

TEXT_COLUMNS: Final = (
    "merchant",
    "category",
    "first",
    "last",
    "gender",
    "street",
    "city",
    "state",
    "job",
    "dob",
)
"""Columns of names and words (and the birth date as written): text in every frame and table."""
INDEX_COLUMN: Final = "Unnamed: 0"
"""How pandas names the leading unnamed index column many copies of the files carry."""

TIMESTAMP_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
DOB_FORMAT: Final = "%Y-%m-%d"

CATEGORIES: Final = (
    "entertainment",
    "food_dining",
    "gas_transport",
    "grocery_net",
    "grocery_pos",
    "health_fitness",
    "home",
    "kids_pets",
    "misc_net",
    "misc_pos",
    "personal_care",
    "shopping_net",
    "shopping_pos",
    "travel",
)
"""The 14 merchant categories of Sparkov. Another category is accepted and flagged."""

GENDERS: Final = ("F", "M")

# -- what the system accepts ----------------------------------------------------------------
#
# Every value the decoder accepts must survive every later stage: the features (numpy int64 and
# float64 columns), the card state (msgpack integers, integer cents), the PostgreSQL columns of
# ``storage/migrations`` (integer, bigint, double precision, text, timestamp, date) and the Kafka
# messages. So each field carries the bounds of the narrowest stage, here and nowhere else; a
# test reads the columns' types from PostgreSQL and checks that every bound fits its column.

INT32_MAX: Final = 2**31 - 1
"""PostgreSQL ``integer``."""
INT64_MAX: Final = 2**63 - 1
"""PostgreSQL ``bigint``, numpy int64, msgpack's signed integers."""
CARD_MIN: Final = 10_000_000
"""The smallest card number of 8 digits."""
CARD_MAX: Final = INT64_MAX
"""Card numbers are 64-bit integers in the Kaggle files (pandas int64) and in PostgreSQL."""
AMOUNT_MAX: Final = 10_000_000.0
"""The largest amount accepted (Sparkov's largest is about 29,000): its cents, summed over a card's
whole history, stay far inside int64."""
EARLIEST: Final = datetime(1900, 1, 1)
LATEST: Final = datetime(2100, 1, 1)
"""Transaction times and birth dates lie in [EARLIEST, LATEST): inside every date type the data
meets (pandas' nanosecond timestamps end in 2262, PostgreSQL's and Python's much later)."""
UNIX_TIME_MAX: Final = int((LATEST - datetime(1970, 1, 1)).total_seconds())
"""``unix_time`` is a count of seconds in [1970, LATEST)."""
TEXT_MAX: Final = 200
"""Characters of a name, street, city, job, merchant or category."""
ID_MAX: Final = 100
"""Characters of a transaction id (Sparkov's are 32)."""
_CARD_RE: Final = re.compile(r"^\d{8,19}$")
CARD_PROBLEM: Final = "must be a card number of 8 to 19 digits (at most 9223372036854775807)"
NO_NUL: Final = r"^[^\x00]*$"
"""PostgreSQL's text cannot hold the NUL character."""
NOT_BLANK: Final = r"^[^\x00]*[^\x00\s][^\x00]*$"
"""Some character other than white space, and no NUL."""

# -- one record ----------------------------------------------------------------------------------
#
# Every rule below is declarative (bounds, lengths, patterns, literals, naive datetimes), so the
# fast decoder of ``fraudstream.wire`` enforces exactly the same rules with msgspec. The one
# Python validator, on the card number, only turns a string of digits into the number.


def _card_from_text(value: object) -> object:
    """Card numbers travel as JSON numbers in the original feed, sometimes as digit strings."""
    if isinstance(value, bool):
        raise ValueError(CARD_PROBLEM)
    if isinstance(value, str):
        text = value.strip()
        if not _CARD_RE.match(text):
            raise ValueError(CARD_PROBLEM)
        return int(text)
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


CardNumber = Annotated[int, BeforeValidator(_card_from_text), Field(ge=CARD_MIN, le=CARD_MAX)]
Timestamp = Annotated[
    NaiveDatetime,
    Field(ge=EARLIEST, lt=LATEST),
    PlainSerializer(lambda v: v.strftime(TIMESTAMP_FORMAT), return_type=str),
]
"""A local wall-clock time, as Sparkov writes it: no offset."""
BirthDate = Annotated[
    date,
    Field(ge=EARLIEST.date(), lt=LATEST.date()),
    PlainSerializer(lambda v: v.strftime(DOB_FORMAT), return_type=str),
]
Text = Annotated[str, Field(max_length=TEXT_MAX, pattern=NO_NUL)]
NonBlank = Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=NOT_BLANK)]
TransNum = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=NOT_BLANK)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class Transaction(BaseModel):
    """One Sparkov card transaction, exactly the Kaggle columns (``is_fraud`` optional).

    Serialises back to the Kaggle formats (``model_dump(mode="json")``), so a record read from
    a file, sent through Kafka and written back out is the same line.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    trans_date_trans_time: Timestamp
    cc_num: CardNumber
    merchant: NonBlank
    category: NonBlank
    amt: Annotated[float, Field(ge=0, le=AMOUNT_MAX, allow_inf_nan=False)]
    first: Text
    last: Text
    gender: Literal["F", "M"]
    street: Text
    city: Text
    state: Annotated[str, Field(min_length=2, max_length=2, pattern=NO_NUL)]
    zip: Annotated[int, Field(ge=0, le=99999)]
    lat: Latitude
    long: Longitude
    city_pop: Annotated[int, Field(ge=0, le=INT32_MAX)]
    job: Text
    dob: BirthDate
    trans_num: TransNum
    unix_time: Annotated[int, Field(ge=0, lt=UNIX_TIME_MAX)]
    merch_lat: Latitude
    merch_long: Longitude
    is_fraud: Literal[0, 1] | None = None

    @property
    def category_known(self) -> bool:
        """False for a category outside Sparkov's 14: accepted, scored, and flagged."""
        return self.category in _CATEGORY_SET

    def to_record(self) -> dict[str, Any]:
        """The Kaggle-formatted record (feed columns, plus is_fraud when known)."""
        record = self.model_dump(mode="json")
        if record["is_fraud"] is None:
            del record["is_fraud"]
        return record


_CATEGORY_SET: Final = frozenset(CATEGORIES)


EXAMPLE_RECORD: Final[Mapping[str, Any]] = {
    "trans_date_trans_time": "2019-01-01 00:00:18",
    "cc_num": 2703186189652095,
    "merchant": "fraud_Rippin, Kub and Mann",
    "category": "misc_net",
    "amt": 4.97,
    "first": "Jennifer",
    "last": "Banks",
    "gender": "F",
    "street": "561 Perry Cove",
    "city": "Moravian Falls",
    "state": "NC",
    "zip": 28654,
    "lat": 36.0788,
    "long": -81.1781,
    "city_pop": 3495,
    "job": "Psychologist, counselling",
    "dob": "1988-03-09",
    "trans_num": "0b242abb623afc578575680df30655b9",
    "unix_time": 1325376018,
    "merch_lat": 36.011293,
    "merch_long": -82.048315,
}
"""The first row of fraudTrain.csv, as the feed sends it: a transaction every stage accepts, for
the checks that ask "does a known-good transaction still go through?"."""


def describe_error(err: ErrorDetails) -> FieldProblem:
    """One pydantic error as fraudstream states it: the field, and the problem in plain words."""
    loc = [str(p) for p in err["loc"]]
    field = ".".join(loc) if loc else "record"
    message = err["msg"].removeprefix("Value error, ")
    kind = err["type"]
    got = _short(err.get("input"))
    if kind == "missing":
        message = "is missing"
    elif loc and loc[-1] == "cc_num":
        message = f"{CARD_PROBLEM}, got {got}"
    elif kind in {"string_pattern_mismatch", "string_too_short"}:
        text = err.get("input")
        message = (
            "must not contain the NUL character"
            if isinstance(text, str) and "\x00" in text
            else "must not be empty"
        )
    elif kind.startswith("timezone"):
        message = f"must be a local time without offset, like 2019-01-01 00:00:18, got {got}"
    elif kind.startswith("datetime"):
        message = f"must be a timestamp like 2019-01-01 00:00:18, got {got}"
    elif kind.startswith("date"):
        message = f"must be a date like 1988-03-09, got {got}"
    elif kind in {
        "literal_error",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "string_too_long",
    }:
        message = f"{message}, got {got}"
    return FieldProblem(field, message)


def problems_of(error: ValidationError) -> list[FieldProblem]:
    """Turn pydantic's error list into fraudstream's: one line per field, in plain words."""
    return [describe_error(err) for err in error.errors(include_url=False)]


def parse_transaction(data: Mapping[str, Any], *, index: int | None = None) -> Transaction:
    """Validate one record; raise :class:`InvalidTransaction` naming every bad field."""
    try:
        return Transaction.model_validate(data)
    except ValidationError as exc:
        raise InvalidTransaction(problems_of(exc), index=index) from None


def parse_transactions(
    records: Iterable[Mapping[str, Any]],
) -> tuple[list[Transaction], list[InvalidTransaction]]:
    """Validate many records, keeping the good ones and an error (with its index) per bad one."""
    good: list[Transaction] = []
    bad: list[InvalidTransaction] = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            bad.append(InvalidTransaction([FieldProblem("record", "must be an object")], index=i))
            continue
        try:
            good.append(parse_transaction(record, index=i))
        except InvalidTransaction as exc:
            bad.append(exc)
    return good, bad


# -- the verdict ----------------------------------------------------------------------------------

VERDICT_SCHEMA_VERSION: Final = 1

API_KEY_HEADER: Final = "X-API-Key"
"""The header of ``POST /predict`` that carries the API key (``FRAUD_API_KEY``), when one is set."""


class Reason(BaseModel):
    """A feature that pushed the score, and by how much (in the model's log-odds)."""

    model_config = ConfigDict(frozen=True)

    feature: str
    contribution: float


Score = Annotated[float, Field(ge=0, le=1)]


class Prediction(BaseModel):
    """The model service's answer for one transaction, in the order of the request: the HTTP
    contract of ``POST /predict``, which the stream decodes with the struct derived from it."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    trans_num: str
    is_fraud: Literal[0, 1]
    score: Score
    threshold: float
    model_name: str
    model_version: str
    reasons: list[Reason]


class Verdict(BaseModel):
    """The answer for one transaction; also the value of a message on the ``verdicts`` topic.

    The topic's contract (``docs/verdict.schema.json``, generated from this model): key is the
    card number as text, value this object as JSON. ``schema_version`` grows only when a field
    changes meaning or disappears; new optional fields keep the version. The topic is
    at-least-once: a consumer keeps the first verdict per ``trans_num``.
    """

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    schema_version: int = VERDICT_SCHEMA_VERSION
    trans_num: str
    cc_num: int
    is_fraud: Literal[0, 1]
    score: Score
    threshold: float
    model_name: str
    model_version: str
    reasons: list[Reason] = Field(default_factory=list)
    scored_at: AwareDatetime | None = None
    """When the model service answered (UTC)."""


LabelSource = Literal["chargeback", "analyst"]
"""Where a label comes from: the card issuer (a chargeback, or its window closing without one),
or a fraud analyst's review in the dashboard. ``docs/labels.md`` says which one wins."""
NOTE_MAX: Final = 500


class LabelEvent(BaseModel):
    """A label on the ``labels`` topic: a delayed chargeback, or an analyst's decision.

    Key: the card number as text. Value: this object as JSON. Messages without ``source`` are
    chargebacks (the topic's first contract), so older producers keep working.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    trans_num: TransNum
    is_fraud: Literal[0, 1]
    labelled_at: Annotated[
        AwareDatetime, Field(ge=EARLIEST.replace(tzinfo=UTC), lt=LATEST.replace(tzinfo=UTC))
    ]
    """When the label became known."""
    source: LabelSource = "chargeback"
    author: NonBlank | None = None
    """Who decided: the analyst's sign-in name (required for, and only for, an analyst)."""
    note: Annotated[str, Field(max_length=NOTE_MAX, pattern=NO_NUL)] | None = None

    @model_validator(mode="after")
    def _author_with_analyst(self) -> LabelEvent:
        if (self.source == "analyst") != (self.author is not None):
            raise ValueError("author: an analyst's label names its author, a chargeback none")
        return self

    @classmethod
    def parse_message(cls, value: bytes | None) -> LabelEvent | str:
        """The label, or why the message is not one (for the dead-letter topic)."""
        try:
            return cls.model_validate_json(value or b"")
        except ValidationError as exc:
            return "; ".join(str(p) for p in problems_of(exc))


# -- a whole frame --------------------------------------------------------------------------------


def normalise_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the unnamed leading index column of many Kaggle copies; keep the named columns."""
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first == INDEX_COLUMN or first == "" or first.startswith("Unnamed"):
        frame = frame.drop(columns=frame.columns[0])
    return frame


def missing_columns(frame: pd.DataFrame) -> list[str]:
    """Feed columns the frame lacks (``is_fraud`` is optional)."""
    return [c for c in FEED_COLUMNS if c not in frame.columns]


def check_frame(frame: pd.DataFrame) -> pd.Series:
    """For each row, the first broken rule as ``"field: problem"``, or an empty string.

    The same rules as :class:`Transaction`, vectorised: a million rows take about a second.
    The frame must already carry every feed column (see :func:`missing_columns`).
    """
    n = len(frame)
    reason = pd.Series(np.full(n, "", dtype=object), index=frame.index)

    def flag(mask: pd.Series | np.ndarray[Any, Any], message: str) -> None:
        mask = np.asarray(mask, dtype=bool) & (reason.to_numpy() == "")
        if mask.any():
            reason.iloc[np.flatnonzero(mask)] = message

    ts = pd.to_datetime(frame["trans_date_trans_time"], format=TIMESTAMP_FORMAT, errors="coerce")
    flag(ts.isna(), "trans_date_trans_time: must be a timestamp like 2019-01-01 00:00:18")
    flag(
        (ts < EARLIEST) | (ts >= LATEST),
        f"trans_date_trans_time: must be in [{EARLIEST}, {LATEST})",
    )
    card = frame["cc_num"].astype("string").str.strip()
    digits = card.str.fullmatch(_CARD_RE.pattern).fillna(False).astype(bool)
    too_big = digits & (card.str.len() == 19) & (card > str(CARD_MAX)).fillna(False).astype(bool)
    flag(~digits | too_big, f"cc_num: {CARD_PROBLEM}")
    for col in _TEXT_LIMITS:
        raw = frame[col].astype("string")
        flag(raw.str.contains("\x00", regex=False).fillna(False), f"{col}: must not contain NUL")
        if col in _NOT_BLANK:
            text = raw.str.strip()
            flag(text.isna() | (text == ""), f"{col}: must not be empty")
        flag(raw.str.len().fillna(0) > _TEXT_LIMITS[col], f"{col}: too long")
    flag(frame["state"].astype("string").str.len() != 2, "state: must be 2 characters")
    amt = pd.to_numeric(frame["amt"], errors="coerce")
    flag(~np.isfinite(amt), "amt: must be a number")
    flag((amt < 0) | (amt > AMOUNT_MAX), f"amt: must be within [0, {AMOUNT_MAX:.0f}]")
    flag(
        ~frame["gender"].astype("string").str.strip().isin(GENDERS).fillna(False),
        "gender: must be F or M",
    )
    for col, bound in (("lat", 90), ("merch_lat", 90), ("long", 180), ("merch_long", 180)):
        value = pd.to_numeric(frame[col], errors="coerce")
        flag(~np.isfinite(value), f"{col}: must be a number")
        flag(value.abs() > bound, f"{col}: must be within [-{bound}, {bound}]")
    for col, top in (("zip", 99999), ("city_pop", INT32_MAX), ("unix_time", UNIX_TIME_MAX - 1)):
        value = pd.to_numeric(frame[col], errors="coerce")
        flag(~np.isfinite(value) | (value != value.round()), f"{col}: must be a whole number")
        flag((value < 0) | (value > top), f"{col}: must be within [0, {top}]")
    dob = pd.to_datetime(frame["dob"], format=DOB_FORMAT, errors="coerce")
    flag(dob.isna(), "dob: must be a date like 1988-03-09")
    flag(
        (dob < EARLIEST) | (dob >= LATEST),
        f"dob: must be in [{EARLIEST:%Y-%m-%d}, {LATEST:%Y-%m-%d})",
    )
    if LABEL_COLUMN in frame.columns:
        label = pd.to_numeric(frame[LABEL_COLUMN], errors="coerce")
        flag(~label.isin([0, 1]) & label.notna(), "is_fraud: must be 0 or 1")
    return reason


_NOT_BLANK: Final = frozenset({"merchant", "category", "trans_num"})
_TEXT_LIMITS: Final = {
    **{col: TEXT_MAX for col in TEXT_COLUMNS if col not in {"gender", "dob", "state"}},
    "trans_num": ID_MAX,
}
"""The text columns a frame check bounds (gender, dob and state have rules of their own)."""


def unknown_categories(frame: pd.DataFrame) -> pd.Series:
    """Rows whose category is outside Sparkov's 14 (accepted, but a report should say so)."""
    return ~frame["category"].isin(CATEGORIES)
