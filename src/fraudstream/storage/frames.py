"""Sync reads into pandas frames, for the consumers that think in frames (trainer, dashboard).

psycopg 3 rather than the async repository: Streamlit and the trainer are synchronous, and a
frame is built from whole columns anyway. Each call opens one short connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fraudstream.errors import DataError
from fraudstream.storage import queries
from fraudstream.storage.failures import storage_error

if TYPE_CHECKING:
    import pandas as pd

Params = Sequence[Any] | Mapping[str, Any] | None


def query_frame(url: str, sql: str, params: Params = None) -> pd.DataFrame:
    """Run one query and return its rows as a frame with the query's column names.

    ``sql`` uses psycopg placeholders (``%s`` or ``%(name)s``). A query without rows still gives
    its columns. Errors are :class:`~fraudstream.errors.StorageError` naming the server.
    """
    import pandas as pd
    import psycopg

    try:
        with (
            psycopg.connect(url, connect_timeout=10) as conn,
            conn.cursor() as cursor,
        ):
            cursor.execute(sql.encode(), params)
            columns = [d.name for d in cursor.description or ()]
            rows = cursor.fetchall()
    except psycopg.Error as exc:
        raise storage_error("reading a frame", url, exc) from exc
    return pd.DataFrame.from_records(rows, columns=columns)


def labelled_frame(url: str, since: datetime, until: datetime) -> pd.DataFrame:
    """Stored transactions whose label arrived, by transaction time in ``[since, until)``.

    The Kaggle columns first (``is_fraud`` is the label), typed as the database holds them
    (``trans_date_trans_time`` and ``dob`` as datetimes), then the verdict given at the time:
    the labelled history a trainer or the challenger reads.
    """
    import pandas as pd

    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is not None:
            raise DataError(f"{name} is a transaction time: pass a naive wall-clock datetime")
    sql = queries.labelled_window("%(since)s", "%(until)s")
    frame = query_frame(url, sql, {"since": since, "until": until})
    frame["dob"] = pd.to_datetime(frame["dob"])
    return frame
