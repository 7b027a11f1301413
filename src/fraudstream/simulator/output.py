"""Numbers to the Kaggle layout: frames, JSON records, labels, CSV and Parquet files.

The frame has exactly the columns and dtypes that ``pandas.read_csv`` gives for
fraudTrain.csv, so a simulated file and a real one are interchangeable for every reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from fraudstream.schema import (
    CATEGORIES,
    KAGGLE_COLUMNS,
    LABEL_COLUMN,
    TEXT_COLUMNS,
    TIMESTAMP_FORMAT,
)
from fraudstream.simulator.calendar import format_timestamps, unix_time
from fraudstream.simulator.engine import LEGIT, SCENARIOS, Batch
from fraudstream.simulator.population import Population

SCENARIO_COLUMN: Final = "scenario"
"""Extra column, on request, naming each fraud's scenario ("" for legitimate rows)."""

_CATEGORY_NAMES: Final = np.array(CATEGORIES, dtype=object)
_SCENARIO_NAMES: Final = np.array(["", *(s.value for s in SCENARIOS)], dtype=object)


def fixed_width_text(values: NDArray[np.bytes_]) -> pd.api.extensions.ExtensionArray:
    """Fixed-width ASCII (timestamps, trans_num) as pandas ``str``, without a Python object each.

    A million unique strings through ``astype("str")`` take seconds; laid into an Arrow string
    buffer with computed offsets they take milliseconds.
    """
    import pyarrow as pa

    width = values.dtype.itemsize
    data = pa.py_buffer(np.ascontiguousarray(values).tobytes())
    offsets = pa.py_buffer((np.arange(values.size + 1, dtype=np.int64) * width).tobytes())
    array = pa.Array.from_buffers(pa.large_string(), values.size, [None, offsets, data])
    return cast(pd.api.extensions.ExtensionArray, pd.array(array, dtype="str"))


def kaggle_frame(batch: Batch, pop: Population, scenario_column: bool = False) -> pd.DataFrame:
    """The Kaggle columns, in order, with the dtypes ``read_csv`` gives for the real files."""
    c = batch.customer
    columns: dict[str, Any] = {
        "trans_date_trans_time": fixed_width_text(format_timestamps(batch.t)),
        "cc_num": pop.cc_num[c],
        "merchant": pop.merchant_name[batch.merchant],
        "category": _CATEGORY_NAMES[batch.category],
        "amt": batch.amt,
        "first": pop.first[c],
        "last": pop.last[c],
        "gender": pop.gender[c],
        "street": pop.street[c],
        "city": pop.city[c],
        "state": pop.state[c],
        "zip": pop.zip[c],
        "lat": pop.lat[c],
        "long": pop.long[c],
        "city_pop": pop.city_pop[c],
        "job": pop.job[c],
        "dob": pop.dob[c],
        "trans_num": fixed_width_text(batch.trans_num),
        "unix_time": unix_time(batch.t),
        "merch_lat": batch.merch_lat,
        "merch_long": batch.merch_long,
        LABEL_COLUMN: batch.is_fraud,
    }
    frame = pd.DataFrame(columns, columns=list(KAGGLE_COLUMNS))
    frame = frame.astype(dict.fromkeys(TEXT_COLUMNS, "str"))
    if scenario_column:
        frame[SCENARIO_COLUMN] = pd.Series(_SCENARIO_NAMES[batch.scenario + 1], dtype="str")
    return frame


@dataclass(frozen=True, slots=True)
class DelayedLabel:
    """A transaction's label, known only ``available_at``: a row of the labels file that
    ``fraudstream simulate --labels`` writes. (The ``labels`` topic carries
    :class:`fraudstream.schema.LabelEvent`, a different shape: the producer makes those.)"""

    trans_num: str
    cc_num: int
    is_fraud: int
    available_at: datetime
    """Kaggle-clock time at which the label (a chargeback, or its absence) is known."""

    def to_record(self) -> dict[str, Any]:
        return {
            "trans_num": self.trans_num,
            "cc_num": self.cc_num,
            "is_fraud": self.is_fraud,
            "available_at": self.available_at.strftime(TIMESTAMP_FORMAT),
        }


def label_events(batch: Batch, pop: Population, delay: timedelta) -> list[DelayedLabel]:
    """One label per transaction, ``delay`` after it (order is the transactions' order)."""
    shift = np.timedelta64(int(delay.total_seconds()), "s")
    when = (batch.t.astype("datetime64[s]") + shift).tolist()
    return [
        DelayedLabel(trans_num=tn, cc_num=int(cc), is_fraud=int(f), available_at=at)
        for tn, cc, f, at in zip(
            batch.trans_num.astype("U32").tolist(),
            pop.cc_num[batch.customer].tolist(),
            (batch.scenario != LEGIT).tolist(),
            when,
            strict=True,
        )
    ]
