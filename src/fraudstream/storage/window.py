"""Stored transactions of a span of transaction time, as one pandas frame, fast.

The challenger job and the drift monitor read hundreds of thousands of rows at a time: the
feed columns, the label when it has arrived, the verdict given live, and the shadow score of one
model version. ``COPY (SELECT ...) TO STDOUT`` as CSV, parsed by pyarrow, moves a million rows in
seconds, where fetching them as Python tuples (:func:`~fraudstream.storage.frames.query_frame`)
would spend most of its time building objects.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING, Final

from fraudstream.errors import DataError
from fraudstream.schema import FEED_COLUMNS, LABEL_COLUMN, TEXT_COLUMNS
from fraudstream.storage.failures import storage_error

if TYPE_CHECKING:
    import pandas as pd

VERDICT_FIELDS: Final = ("score", "threshold", "model_name", "model_version")
SHADOW_SCORE: Final = "shadow_score"
LABEL_SOURCE: Final = "label_source"
WINDOW_COLUMNS: Final = (
    *FEED_COLUMNS,
    LABEL_COLUMN,
    LABEL_SOURCE,
    *VERDICT_FIELDS,
    SHADOW_SCORE,
)
"""The columns of :func:`stored_window`: ``is_fraud`` is NaN until the label arrives (and
``label_source`` then says who gave the one that counts: ``docs/labels.md``), ``shadow_score``
NaN where the shadow model gave none."""

_FEED: Final = ", ".join(f"s.{column}" for column in FEED_COLUMNS)
_QUERY: Final = (  # built from constants; the values travel as parameters
    f"SELECT {_FEED}, l.is_fraud AS {LABEL_COLUMN}, l.source AS {LABEL_SOURCE},"  # noqa: S608
    " s.score, s.threshold, s.model_name,"
    f" s.model_version, sh.score AS {SHADOW_SCORE}"
    " FROM scored_transactions AS s"
    " LEFT JOIN labels AS l USING (trans_num)"
    " LEFT JOIN shadow_scores AS sh ON sh.trans_num = s.trans_num"
    " AND sh.model_version = %(shadow)s AND sh.model_name = s.model_name"
    " WHERE s.trans_date_trans_time >= %(since)s AND s.trans_date_trans_time < %(until)s"
    " ORDER BY s.trans_date_trans_time, s.trans_num"
)
_TEXT: Final = (*TEXT_COLUMNS, "trans_num", "model_name", "model_version", LABEL_SOURCE)


def _naive(name: str, value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise DataError(f"{name} is a transaction time: pass a naive wall-clock datetime")
    return value


def stored_window(
    url: str, since: datetime, until: datetime, *, shadow_version: str | None = None
) -> pd.DataFrame:
    """Every stored transaction with ``since <= trans_date_trans_time < until``, in time order.

    ``shadow_version`` names the model version whose shadow scores fill ``shadow_score``.
    Times are Sparkov's naive wall-clock times. Errors are
    :class:`~fraudstream.errors.StorageError` naming the server.
    """
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    params = {
        "since": _naive("since", since),
        "until": _naive("until", until),
        "shadow": shadow_version,
    }
    buffer = io.BytesIO()
    try:
        with psycopg.connect(url, connect_timeout=10) as conn, conn.cursor() as cursor:
            copy_sql = f"COPY ({_QUERY}) TO STDOUT WITH (FORMAT csv, HEADER)"
            with cursor.copy(copy_sql.encode(), params) as copy:
                for block in copy:
                    buffer.write(block)
    except psycopg.Error as exc:
        raise storage_error("reading stored transactions", url, exc) from exc
    buffer.seek(0)
    types = dict.fromkeys(_TEXT, pa.string()) | {
        "trans_date_trans_time": pa.timestamp("s"),
        "cc_num": pa.int64(),
        "zip": pa.int64(),
        "city_pop": pa.int64(),
        "unix_time": pa.int64(),
        LABEL_COLUMN: pa.float64(),
        SHADOW_SCORE: pa.float64(),
    }
    table = pacsv.read_csv(
        buffer,
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
    )
    frame: pd.DataFrame = table.to_pandas()
    for column in _TEXT:
        frame[column] = frame[column].astype("str")
    return frame


def latest_transaction_time(url: str) -> datetime | None:
    """Sparkov time of the latest stored transaction (the challenger's and the monitor's "now"),
    or None when nothing is stored; the index on transaction time makes it instant."""
    import pandas as pd

    from fraudstream.storage.frames import query_frame

    found = query_frame(url, "SELECT max(trans_date_trans_time) AS latest FROM scored_transactions")
    value = found["latest"].iloc[0] if len(found) else None
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()
