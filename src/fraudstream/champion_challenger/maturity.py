"""Which labels may judge a model or teach one: the mature ones (``docs/labels.md``).

A chargeback label is mature once its transaction's label window has closed, that is before the
evaluation window's end (``challenger_label_wait_days`` before the latest stored transaction):
until then "no chargeback yet" is not "legitimate", and the chargebacks that came early are the
fastest frauds only. An analyst's decision is mature at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraudstream.schema import LABEL_COLUMN
from fraudstream.storage.window import LABEL_SOURCE

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd


def mature(frame: pd.DataFrame, window_closed_before: datetime) -> pd.Series:
    """True for the rows of a :func:`~fraudstream.storage.window.stored_window` frame whose
    label may enter a decision: an analyst's at once, a chargeback's once its window closed."""
    import pandas as pd

    labelled = frame[LABEL_COLUMN].notna()
    closed = frame["trans_date_trans_time"] < pd.Timestamp(window_closed_before)
    analyst = frame[LABEL_SOURCE] == "analyst"
    result: pd.Series = labelled & (closed | analyst)
    return result
