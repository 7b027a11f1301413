"""The dashboard's SQL on a real, seeded PostgreSQL, checked against the seeded rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from fixtures.dashboard import OUTAGE, Seeded
from fraudstream.dashboard import queries
from fraudstream.errors import StorageError
from fraudstream.storage.readonly import ReadOnlyDatabase

pytestmark = pytest.mark.integration


@pytest.fixture
def db(reader_url: str, seeded: Seeded) -> Iterator[ReadOnlyDatabase]:
    database = ReadOnlyDatabase(reader_url, timeout_seconds=5)
    yield database
    database.close()


def test_the_histogram_is_numpys_histogram_of_the_scores(
    db: ReadOnlyDatabase, seeded: Seeded
) -> None:
    frame = queries.score_histogram(db, queries.TransactionFilter(window=timedelta(hours=2)))
    scores = np.array([v.verdict.score for v in seeded.verdicts])
    expected, _ = np.histogram(scores, bins=queries.HISTOGRAM_BINS, range=(0, 1))
    assert frame["transactions"].tolist() == expected.tolist()
    assert frame["flagged"].sum() == len(seeded.flagged)
    assert frame["low"].iloc[0] == 0
    assert frame["high"].iloc[-1] == 1


def test_a_filter_narrows_the_histogram_and_the_list_alike(
    db: ReadOnlyDatabase, seeded: Seeded
) -> None:
    rows = [v for v in seeded.verdicts if v.transaction.category == "shopping_net"]
    chosen = queries.TransactionFilter(categories=("shopping_net",), amount_min=10.0)
    expected = [v for v in rows if v.transaction.amt >= 10.0]
    assert queries.score_histogram(db, chosen)["transactions"].sum() == len(expected)
    flagged = queries.flagged(db, chosen)
    assert set(flagged["trans_num"]) == {
        v.verdict.trans_num for v in expected if v.verdict.is_fraud
    }


def test_the_reasons_read_strongest_first(db: ReadOnlyDatabase, seeded: Seeded) -> None:
    row = queries.flagged(db, queries.TransactionFilter(), limit=1).iloc[0]
    stored = next(v for v in seeded.verdicts if v.verdict.trans_num == row["trans_num"])
    strongest = max(stored.verdict.reasons, key=lambda r: abs(r.contribution))
    first = row["reasons"].split(", ")[0]
    assert first == f"{strongest.feature} {strongest.contribution:+.2f}"


def test_time_series_add_up_to_the_rows(db: ReadOnlyDatabase, seeded: Seeded) -> None:
    window = timedelta(hours=2)
    verdicts = queries.verdict_series(db, window)
    assert verdicts["scored"].sum() == len(seeded.verdicts)
    assert verdicts["flagged"].sum() == len(seeded.flagged)
    stream = queries.stream_series(db, window)
    assert stream["dlq_count"].sum() == sum(m.dlq_count for m in seeded.metrics)
    assert stream["retries"].sum() == sum(m.retries for m in seeded.metrics)
    assert len(stream) <= 90  # bucketed by the server, not sent row by row


def test_a_window_leaves_out_older_rows(db: ReadOnlyDatabase, seeded: Seeded) -> None:
    counts = queries.traffic(db, timedelta(minutes=10)).iloc[0]
    cutoff = seeded.now - timedelta(minutes=10)
    assert 0 < counts["scored"] < len(seeded.verdicts)
    assert counts["scored"] == pytest.approx(
        sum(v.scored_at >= cutoff for v in seeded.verdicts), abs=2
    )  # the server's now() is a few seconds after the seed's


def test_the_session_cannot_write_even_with_the_writers_login(database_url: str) -> None:
    writer = ReadOnlyDatabase(database_url, timeout_seconds=5)
    try:
        with pytest.raises(StorageError, match="read-only"):
            writer.frame("DELETE FROM labels")
    finally:
        writer.close()


def test_a_restarted_connection_is_reopened(db: ReadOnlyDatabase, database_url: str) -> None:
    import psycopg

    assert queries.decisions(db)["id"].count() == 4
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'fraudstream-dashboard'"
        )
    assert queries.decisions(db)["id"].count() == 4


def test_each_live_worker_says_what_it_does(db: ReadOnlyDatabase, seeded: Seeded) -> None:
    states = queries.stream_states(db).set_index("worker")
    assert states.loc["worker-a", "state"] == "flowing"
    assert states.loc["worker-b", "state"] == "retrying"
    assert states.loc["worker-b", "state_reason"] == OUTAGE
    # the latest report's, not an older one's (older reports carry no state)
    latest = {m.worker: pd.Timestamp(m.ts).tz_convert(None) for m in seeded.latest_metrics()}
    assert {w: pd.Timestamp(states.loc[w, "ts"]) for w in latest} == latest  # frames: UTC
