"""SQL shared by the async repository (asyncpg) and the sync frame reader (psycopg).

Written once, with the placeholders left to the driver: asyncpg numbers them (``$1``), psycopg
names them (``%(since)s``).
"""

from __future__ import annotations

from fraudstream.schema import FEED_COLUMNS, LABEL_COLUMN


def labelled_window(since: str, until: str) -> str:
    """Stored transactions whose label has arrived, by transaction time in ``[since, until)``.

    The columns are the Kaggle ones (``is_fraud`` being the label), then the verdict given at
    the time. The window is on transaction time, Sparkov's wall clock, because a replayed file
    carries times far from when it was scored; the index on ``trans_date_trans_time`` serves it.
    """
    feed = ", ".join(f"s.{column}" for column in FEED_COLUMNS)
    return (  # built from constants and the caller's placeholders, never from input
        f"SELECT {feed}, l.is_fraud AS {LABEL_COLUMN}, s.score, s.is_fraud_pred, s.model_name,"  # noqa: S608
        " s.model_version, s.scored_at, l.labelled_at"
        " FROM scored_transactions AS s JOIN labels AS l USING (trans_num)"
        f" WHERE s.trans_date_trans_time >= {since} AND s.trans_date_trans_time < {until}"
        " ORDER BY s.trans_date_trans_time, s.trans_num"
    )
