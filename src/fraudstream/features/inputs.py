"""The raw inputs of the features, as typed numpy columns, from a frame or from transactions.

Both paths (the trainer's frame, the service's list of :class:`Transaction`) convert to the same
integer and float columns first, so every formula downstream runs on identical numbers and the
two paths give bit-identical features.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fraudstream.features.definition import OTHER_CATEGORY
from fraudstream.schema import CATEGORIES, DOB_FORMAT, TIMESTAMP_FORMAT, Transaction

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_EPOCH: Final = datetime(1970, 1, 1)
_EPOCH_DAY: Final = date(1970, 1, 1)
_CATEGORY_CODE: Final = {name: i for i, name in enumerate(CATEGORIES)}


def merchant_id(merchant: str) -> int:
    """A stable 32-bit id of a merchant name (CRC-32): compact in the card state, and the same
    in every process (Python's ``hash`` of a string is salted per process)."""
    return zlib.crc32(merchant.encode("utf-8"))


def category_code(category: str) -> int:
    """Index in ``schema.CATEGORIES``; every other category is :data:`OTHER_CATEGORY`."""
    return _CATEGORY_CODE.get(category, OTHER_CATEGORY)


@dataclass(frozen=True, slots=True)
class Columns:
    """One array per raw input, all of the same length, in the caller's row order."""

    local_seconds: IntArray
    """trans_date_trans_time (a local wall-clock time) as seconds since 1970-01-01 00:00."""
    dob_days: IntArray
    unix_time: IntArray
    amt: FloatArray
    lat: FloatArray
    long: FloatArray
    merch_lat: FloatArray
    merch_long: FloatArray
    city_pop: FloatArray
    gender_m: FloatArray
    category: IntArray
    merchant: IntArray

    def __len__(self) -> int:
        return len(self.amt)


def _seconds(values: pd.Series, fmt: str, unit: str) -> IntArray:
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, format=fmt)
    return values.to_numpy().astype(f"datetime64[{unit}]").astype(np.int64)


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def columns_from_frame(frame: pd.DataFrame) -> Columns:
    """Columns of a frame that passed ``schema.check_frame`` (strings or parsed dtypes)."""
    merchants = _text(frame["merchant"])
    uniques, codes = np.unique(merchants.to_numpy(dtype=object), return_inverse=True)
    merchant_ids = np.array([merchant_id(m) for m in uniques], dtype=np.int64)[codes]
    categories = _text(frame["category"]).map(category_code).to_numpy(dtype=np.int64)
    return Columns(
        local_seconds=_seconds(frame["trans_date_trans_time"], TIMESTAMP_FORMAT, "s"),
        dob_days=_seconds(frame["dob"], DOB_FORMAT, "D"),
        unix_time=frame["unix_time"].to_numpy(dtype=np.int64),
        amt=frame["amt"].to_numpy(dtype=np.float64),
        lat=frame["lat"].to_numpy(dtype=np.float64),
        long=frame["long"].to_numpy(dtype=np.float64),
        merch_lat=frame["merch_lat"].to_numpy(dtype=np.float64),
        merch_long=frame["merch_long"].to_numpy(dtype=np.float64),
        city_pop=frame["city_pop"].to_numpy(dtype=np.float64),
        gender_m=np.asarray(_text(frame["gender"]).str.upper() == "M", dtype=np.float64),
        category=categories,
        merchant=merchant_ids,
    )


def local_seconds(moment: datetime) -> int:
    """Seconds since 1970-01-01 00:00 of a naive wall-clock time, sub-seconds dropped."""
    delta = moment.replace(microsecond=0) - _EPOCH
    return delta.days * 86_400 + delta.seconds


def columns_from_transactions(txns: Sequence[Transaction]) -> Columns:
    """Columns of validated transactions (the stream and the model service)."""

    def ints(values: list[int]) -> IntArray:
        return np.array(values, dtype=np.int64)

    def floats(values: list[float]) -> FloatArray:
        return np.array(values, dtype=np.float64)

    return Columns(
        local_seconds=ints([local_seconds(t.trans_date_trans_time) for t in txns]),
        dob_days=ints([(t.dob - _EPOCH_DAY).days for t in txns]),
        unix_time=ints([t.unix_time for t in txns]),
        amt=floats([t.amt for t in txns]),
        lat=floats([t.lat for t in txns]),
        long=floats([t.long for t in txns]),
        merch_lat=floats([t.merch_lat for t in txns]),
        merch_long=floats([t.merch_long for t in txns]),
        city_pop=floats([float(t.city_pop) for t in txns]),
        gender_m=floats([1.0 if t.gender == "M" else 0.0 for t in txns]),
        category=ints([category_code(t.category) for t in txns]),
        merchant=ints([merchant_id(t.merchant) for t in txns]),
    )
