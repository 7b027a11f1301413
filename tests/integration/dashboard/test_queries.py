"""The dashboard's SQL on a real, seeded PostgreSQL, checked against the seeded rows."""

from __future__ import annotations

from collections import Counter
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


# -- review queue and audit trail -----------------------------------------------------------------


def test_the_queue_holds_the_flagged_without_a_label_highest_score_first(
    db: ReadOnlyDatabase, seeded: Seeded
) -> None:
    window = timedelta(hours=2)
    labelled = {label.trans_num for label in seeded.counted_labels()}
    waiting = [v for v in seeded.flagged if v.verdict.trans_num not in labelled]
    queue = queries.review_queue(db, window, (), limit=1000)
    assert set(queue["trans_num"]) == {v.verdict.trans_num for v in waiting}
    assert list(queue["score"]) == sorted(queue["score"], reverse=True)
    assert queries.queue_size(db, window) == len(waiting)
    assert queue["card"].str.fullmatch(r"…\d{4}").all()
    # what this session already decided leaves its queue before PostgreSQL knows
    first = str(queue["trans_num"].iloc[0])
    rest = queries.review_queue(db, window, (first,), limit=1000)
    assert first not in set(rest["trans_num"])
    assert len(rest) == len(queue) - 1


def test_a_cards_history_is_its_latest_transactions_up_to_the_one_reviewed(
    db: ReadOnlyDatabase, seeded: Seeded
) -> None:
    card = Counter(v.transaction.cc_num for v in seeded.verdicts).most_common(1)[0][0]
    mine = sorted(
        (v for v in seeded.verdicts if v.transaction.cc_num == card),
        key=lambda v: (v.transaction.trans_date_trans_time, v.transaction.trans_num),
    )
    until = mine[len(mine) // 2].transaction.trans_date_trans_time
    history = queries.card_history(db, card, until, limit=3)
    expected = [v for v in mine if v.transaction.trans_date_trans_time <= until][::-1][:3]
    assert [str(t) for t in history["trans_num"]] == [v.transaction.trans_num for v in expected]
    counted = {label.trans_num: label.is_fraud for label in seeded.counted_labels()}
    for row in history.itertuples():
        assert (None if pd.isna(row.label) else int(row.label)) == counted.get(row.trans_num)


def test_my_reviews_and_the_label_that_counts_now(db: ReadOnlyDatabase, seeded: Seeded) -> None:
    mine_expected = [label for label in seeded.reviews if label.author == "analyst"]
    mine = queries.my_reviews(db, "analyst")
    assert sorted(mine["trans_num"]) == sorted(label.trans_num for label in mine_expected)
    overruled = mine[(mine["counts_source"] == "chargeback") & (mine["counts"] != mine["decision"])]
    assert len(overruled) == 1  # the fixture's one disagreement
    assert set(mine["note"].dropna()) == {"same merchant as last week"}
    assert queries.my_reviews(db, "nobody").empty


def test_the_audit_trail_keeps_every_label_and_names_the_disagreement(
    db: ReadOnlyDatabase, seeded: Seeded
) -> None:
    window = timedelta(hours=2)
    trail = queries.audit_trail(db, window)
    assert len(trail) == len(seeded.labels) + len(seeded.reviews)
    assert len(queries.audit_trail(db, window, "analyst")) == len(seeded.reviews)
    split = queries.disagreements(db, window)
    charged = seeded.reviews[-1].trans_num
    assert list(split["trans_num"]) == [charged]
    assert split["decisions"].iloc[0] == "analyst: not fraud → chargeback: fraud"
    assert (split["counts_source"].iloc[0], split["counts"].iloc[0]) == ("chargeback", 1)
    who = queries.review_summary(db, window).set_index("who")["decisions"].to_dict()
    authors = Counter(str(label.author) for label in seeded.reviews)
    assert who == {"chargeback": len(seeded.labels), **authors}
