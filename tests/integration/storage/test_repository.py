"""The async repository against a real PostgreSQL: idempotent writes, the reads, the failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np
import psycopg
import pytest

from fixtures.postgres import PostgresServer, database_settings_for, scored_transactions
from fraudstream.config import Settings
from fraudstream.errors import (
    AlreadyStored,
    DatabaseUnavailable,
    DataError,
    RowsRefused,
    StorageError,
)
from fraudstream.features import CardState
from fraudstream.schema import Verdict
from fraudstream.storage.models import (
    ChallengerDecision,
    DeadLetter,
    DriftReport,
    Label,
    MetricEstimate,
    ScoredTransaction,
    ShadowScore,
    StreamMetrics,
)
from fraudstream.storage.repository import (
    _STORED_VERDICTS,
    Repository,
    Writer,
    prepare_connection,
    session_settings,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def repo(database_settings: Settings) -> AsyncIterator[Repository]:
    async with Repository.connect(database_settings.database) as repository:
        yield repository


def _one(url: str, sql: str, *params: object) -> tuple[object, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.encode(), params or None).fetchone()
    assert row is not None
    return row


# -- verdicts ------------------------------------------------------------------------------------


async def test_store_verdicts_is_idempotent(repo: Repository) -> None:
    rows = scored_transactions(300)
    assert await repo.store_verdicts(rows) == 300
    assert await repo.store_verdicts(rows) == 0
    assert await repo.count_scored() == 300


async def test_a_partial_overlap_stores_only_the_new_rows(repo: Repository) -> None:
    await repo.store_verdicts(scored_transactions(100))
    overlapping = scored_transactions(150, start=50)  # 50..199: 50 known, 100 new
    assert await repo.store_verdicts(overlapping) == 100
    assert await repo.count_scored() == 200


async def test_duplicates_within_one_batch_store_one_row(repo: Repository) -> None:
    rows = scored_transactions(10)
    assert await repo.store_verdicts([*rows, *rows[:4]]) == 10
    assert await repo.count_scored() == 10


async def test_stored_values_come_back_typed(repo: Repository, database_url: str) -> None:
    row = scored_transactions(1, start=4)[0]
    await repo.store_verdicts([row])
    stored = _one(
        database_url,
        "SELECT cc_num, amt, dob, trans_date_trans_time, is_fraud_pred, reasons, produced_at,"
        " stored_at > scored_at FROM scored_transactions WHERE trans_num = 't4'",
    )
    transaction = row.transaction
    assert stored[:5] == (
        transaction.cc_num,
        transaction.amt,
        transaction.dob,
        transaction.trans_date_trans_time,
        1,
    )
    assert stored[5] == [{"feature": "amt", "contribution": 0.25}]
    assert stored[6] == row.produced_at
    assert stored[7] is True


_INSERTED = (
    "SELECT relname, n_tup_ins FROM pg_stat_xact_user_tables"
    " WHERE relname IN ('scored_transactions', '_scored_stage')"
)
"""Rows inserted per table by this backend, not yet flushed to the statistics (PG 15+)."""


async def _inserted(conn: asyncpg.Connection) -> dict[str, int]:
    return {row["relname"]: row["n_tup_ins"] for row in await conn.fetch(_INSERTED)}


async def test_store_verdicts_copies_new_rows_and_stages_a_replay(database_url: str) -> None:
    """New rows are copied straight in, a replay goes through the stage; neither sends a
    statement per row (the count of statements does not grow with the batch)."""
    conn = await asyncpg.connect(database_url)
    try:
        await prepare_connection(conn)
        statements: list[asyncpg.connection.LoggedQuery] = []
        conn.add_query_logger(statements.append)

        async def store(rows: list[ScoredTransaction]) -> tuple[int, dict[str, int], int]:
            async with conn.transaction():
                before = await _inserted(conn)
                statements.clear()
                stored = await Writer(conn).store_verdicts(rows)
                await asyncio.sleep(0)  # the logger is called soon, not at once
                sent = len(statements)
                assert all(len(q.args) <= 1 for q in statements)  # no row as a parameter
                after = await _inserted(conn)
            return stored, {t: after[t] - before.get(t, 0) for t in after}, sent

        small = await store(scored_transactions(10))
        large = await store(scored_transactions(5_000, start=10))
        assert small[:2] == (10, {"scored_transactions": 10, "_scored_stage": 0})
        assert large[:2] == (5_000, {"scored_transactions": 5_000, "_scored_stage": 0})
        assert small[2] == large[2]

        replay_small = await store(scored_transactions(15, start=5_000))  # 5,010..5,014 new
        replay_large = await store(scored_transactions(5_020))  # 5,015..5,019 new
        # (the aborted first copy counts in scored_transactions' statistics, so only the stage)
        assert (replay_small[0], replay_small[1]["_scored_stage"]) == (5, 15)
        assert (replay_large[0], replay_large[1]["_scored_stage"]) == (5, 5_020)
        assert replay_small[2] == replay_large[2]
    finally:
        await conn.close()
    assert _one(database_url, "SELECT count(*) FROM scored_transactions") == (5_020,)


async def test_storing_as_new_meets_a_stored_verdict_and_writes_nothing(repo: Repository) -> None:
    """The stream's usual write (``only_new``): one COPY, no savepoint; a batch holding a
    stored trans_num raises AlreadyStored and leaves verdicts and card state as they were, and
    the idempotent write then stores the rest."""
    rows = scored_transactions(10)
    card = rows[0].transaction.cc_num
    assert await repo.store_scored(rows[:5], [(card, CardState(count=5), 1)], only_new=True) == 5
    with pytest.raises(AlreadyStored, match="stored already"):
        await repo.store_scored(rows[3:], [(card, CardState(count=10), 2)], only_new=True)
    assert await repo.count_scored() == 5
    assert (await repo.card_states([card]))[card] == (CardState(count=5), 1)
    assert await repo.store_scored(rows[3:], [(card, CardState(count=10), 2)]) == 5
    assert await repo.count_scored() == 10
    assert (await repo.card_states([card]))[card] == (CardState(count=10), 2)


@pytest.mark.parametrize("planned", [True, False])
async def test_a_lookup_prepared_on_a_small_table_still_uses_the_index(
    database_url: str, planned: bool
) -> None:
    """The repository's sessions plan each call for its parameters: a lookup prepared while the
    table was small (a stream's start) does not keep scanning it sequentially once it grew.
    Without the setting (``planned=False``) PostgreSQL keeps the generic plan it chose then,
    until an ANALYZE of the table (autovacuum's, a minute or more later) invalidates it."""
    settings = session_settings("test") if planned else {}
    conn = await asyncpg.connect(database_url, server_settings=settings)
    try:
        await prepare_connection(conn)
        await conn.execute(f"PREPARE look(text[]) AS {_STORED_VERDICTS}")
        await Writer(conn).store_verdicts(scored_transactions(5))
        for _ in range(6):  # after five runs PostgreSQL may settle on a generic plan
            await conn.execute("EXECUTE look('{t1,t2}')")
        await Writer(conn).store_verdicts(scored_transactions(20_000, start=5))
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN EXECUTE look('{t1,t2}')"))
    finally:
        await conn.close()
    assert ("Seq Scan" in plan) is not planned, plan


async def test_two_batches_in_one_transaction_count_right(repo: Repository) -> None:
    async with repo.transaction() as writer:
        assert await writer.store_verdicts(scored_transactions(20)) == 20
        assert await writer.store_verdicts(scored_transactions(20, start=10)) == 10
    assert await repo.count_scored() == 30


async def test_a_transaction_is_all_or_nothing(repo: Repository) -> None:
    async def crash_between_writes() -> None:
        async with repo.transaction() as writer:
            await writer.store_verdicts(scored_transactions(5))
            await writer.store_labels([Label("t1", 1, datetime.now(UTC))])
            raise RuntimeError("crash between the writes")

    with pytest.raises(RuntimeError, match="crash"):
        await crash_between_writes()
    assert await repo.count_scored() == 0
    assert await repo.labelled_window(datetime(2000, 1, 1), datetime(2100, 1, 1)) == []


async def test_rows_the_server_refuses_are_refused_and_the_pool_lives_on(
    repo: Repository,
) -> None:
    good = scored_transactions(2)
    row = good[0]
    # a bug upstream, past validation: the table's CHECK is the last line of defence
    verdict = Verdict.model_construct(**{**dict(row.verdict), "score": 1.5})
    bad = ScoredTransaction(row.transaction, verdict, row.produced_at, row.scored_at)
    with pytest.raises(RowsRefused, match="storing verdicts"):
        await repo.store_verdicts([bad, good[1]])
    assert await repo.count_scored() == 0
    assert await repo.store_verdicts(good) == 2


# -- labels, shadow scores, metrics, dead letters ----------------------------------------------


async def test_labels_replay_changes_nothing_and_a_later_label_wins(
    repo: Repository, database_url: str
) -> None:
    day = timedelta(days=1)
    labels = [Label("t1", 1, NOW), Label("t2", 0, NOW), Label("t3", 0, NOW)]
    assert await repo.store_labels(labels) == 3
    assert await repo.store_labels(labels) == 0
    assert await repo.store_labels([Label("t2", 1, NOW + day)]) == 1  # a late chargeback
    assert await repo.store_labels([Label("t2", 0, NOW - day)]) == 0  # an older message
    # duplicates in one batch: the latest of them counts
    assert await repo.store_labels([Label("t3", 1, NOW + 2 * day), Label("t3", 0, NOW + day)]) == 1
    with psycopg.connect(database_url) as conn:
        rows = dict(conn.execute("SELECT trans_num, is_fraud FROM labels").fetchall())
    assert rows == {"t1": 1, "t2": 1, "t3": 1}


async def test_a_chargeback_outranks_an_analyst_and_the_audit_trail_keeps_both(
    repo: Repository, database_url: str
) -> None:
    minute, day = timedelta(minutes=1), timedelta(days=1)
    said = Label("t1", 0, NOW, "analyst", "ann", "known customer")
    assert await repo.store_labels([said]) == 1
    assert await repo.store_labels([said]) == 0  # a replayed decision adds nothing
    # the same analyst changes her mind: the later decision counts
    assert await repo.store_labels([Label("t1", 1, NOW + minute, "analyst", "ann")]) == 1
    chargeback = Label("t1", 0, NOW + 3 * day)
    assert await repo.store_labels([chargeback]) == 1
    # an analyst after the chargeback does not overrule it; nor does a batch holding both
    assert await repo.store_labels([Label("t1", 1, NOW + 4 * day, "analyst", "bob")]) == 0
    both = [Label("t2", 1, NOW + day, "analyst", "bob"), Label("t2", 0, NOW)]
    assert await repo.store_labels(both) == 1
    with psycopg.connect(database_url) as conn:
        counts = conn.execute(
            "SELECT trans_num, is_fraud, source, author FROM labels ORDER BY trans_num"
        ).fetchall()
        trail = conn.execute(
            "SELECT trans_num, is_fraud, source, author, note FROM label_decisions"
            " ORDER BY trans_num, labelled_at"
        ).fetchall()
        with pytest.raises(psycopg.errors.RaiseException, match="audit trail"):
            conn.execute("UPDATE label_decisions SET is_fraud = 1")
    assert counts == [("t1", 0, "chargeback", None), ("t2", 0, "chargeback", None)]
    assert trail == [
        ("t1", 0, "analyst", "ann", "known customer"),
        ("t1", 1, "analyst", "ann", None),
        ("t1", 0, "chargeback", None, None),
        ("t1", 1, "analyst", "bob", None),
        ("t2", 0, "chargeback", None, None),
        ("t2", 1, "analyst", "bob", None),
    ]


async def test_shadow_scores_one_per_transaction_and_version(repo: Repository) -> None:
    scores = [ShadowScore(f"t{n}", "fraudstream", "7", n / 10, NOW) for n in range(5)]
    assert await repo.store_shadow_scores(scores) == 5
    assert await repo.store_shadow_scores(scores) == 0
    other = [ShadowScore("t1", "fraudstream", "8", 0.3, NOW)]
    assert await repo.store_shadow_scores(other) == 1


async def test_stream_metrics_and_dead_letters_are_idempotent(
    repo: Repository, database_url: str
) -> None:
    samples = [
        StreamMetrics(
            ts=NOW + timedelta(seconds=n),
            worker="w1",
            batch_size=500,
            throughput=1234.5,
            lag=10,
            retries=n,
            dlq_count=0,
            latency_p50_ms=12.0,
            latency_p95_ms=40.0,
            latency_p99_ms=None,
        )
        for n in range(3)
    ]
    assert await repo.record_stream_metrics(samples) == 3
    assert await repo.record_stream_metrics(samples) == 0
    letters = [
        DeadLetter(
            failed_at=NOW,
            topic="transactions",
            partition=2,
            offset=offset,
            reason="amt: must be >= 0",
            key=b"4000",
            payload=b'{"amt": -1}',
        )
        for offset in (41, 42)
    ]
    assert await repo.record_dead_letters(letters) == 2
    assert await repo.record_dead_letters(letters) == 0
    assert _one(database_url, "SELECT payload FROM dead_letters WHERE kafka_offset = 42") == (
        b'{"amt": -1}',
    )


# -- decisions and drift -----------------------------------------------------------------------


async def test_decisions_and_drift_reports_are_recorded(
    repo: Repository, database_url: str
) -> None:
    decision = ChallengerDecision(
        model_name="fraudstream",
        metric="pr_auc",
        champion_version="3",
        challenger_version="4",
        champion=MetricEstimate(value=0.80, ci_low=0.75, ci_high=0.85),
        challenger=MetricEstimate(value=0.86, ci_low=0.82, ci_high=0.90),
        window_start=datetime(2020, 6, 1),
        window_end=datetime(2020, 6, 15),
        n_rows=10_000,
        n_frauds=52,
        action="promoted",
        reason="challenger better beyond the margin",
        drift={"amt": {"psi": np.float64(0.31)}},
    )
    first = await repo.record_decision(decision)
    second = await repo.record_decision(decision.model_copy(update={"action": "kept"}))
    assert second > first
    assert _one(
        database_url,
        "SELECT action, challenger_ci_low, drift, run_at IS NOT NULL FROM challenger_decisions"
        " WHERE id = %s",
        first,
    ) == ("promoted", 0.82, {"amt": {"psi": 0.31}}, True)

    report = DriftReport(
        window_start=datetime(2020, 6, 1),
        window_end=datetime(2020, 6, 2),
        reference="run:abc",
        features={"amt": {"psi": np.float32(0.5), "bins": np.arange(3)}},
        drifted=True,
        summary="amt drifted",
    )
    report_id = await repo.record_drift_report(report)
    features = _one(database_url, "SELECT features FROM drift_reports WHERE id = %s", report_id)
    assert features == ({"amt": {"psi": 0.5, "bins": [0, 1, 2]}},)


# -- reads ---------------------------------------------------------------------------------------


async def test_trans_nums_scored_finds_exactly_the_stored_ones(repo: Repository) -> None:
    await repo.store_verdicts(scored_transactions(10))
    assert await repo.trans_nums_scored(["t0", "t9", "t10", "nope"]) == {"t0", "t9"}
    assert await repo.trans_nums_scored([]) == set()


async def test_labelled_window_joins_labels_by_transaction_time(repo: Repository) -> None:
    rows = scored_transactions(30)  # t{n} happens at 2020-06-01 12:00 + n minutes
    await repo.store_verdicts(rows)
    await repo.store_labels([Label(f"t{n}", n % 2, NOW) for n in range(0, 30, 3)])
    await repo.store_labels([Label("not-scored-yet", 1, NOW)])  # a label ahead of its verdict

    window = await repo.labelled_window(datetime(2020, 6, 1, 12, 5), datetime(2020, 6, 1, 12, 20))
    assert [w.transaction.trans_num for w in window] == ["t6", "t9", "t12", "t15", "t18"]
    first = window[0]
    assert first.transaction.is_fraud == 0
    assert window[1].transaction.is_fraud == 1
    assert first.transaction == rows[6].transaction.model_copy(update={"is_fraud": 0})
    assert (first.score, first.is_fraud_pred, first.model_version) == (0.1, 0, "1")
    assert first.labelled_at == NOW

    with pytest.raises(DataError, match="naive"):
        await repo.labelled_window(NOW, NOW + timedelta(days=1))


# -- failures ------------------------------------------------------------------------------------


async def test_a_server_that_is_not_there_is_unavailable_with_the_password_masked() -> None:
    settings = database_settings_for(
        "postgresql://app:hunter2@127.0.0.1:9/fraud", database_timeout_seconds=2.0
    )
    with pytest.raises(DatabaseUnavailable) as caught:
        async with Repository.connect(settings.database):
            pass
    message = str(caught.value)
    assert "postgresql://app:***@127.0.0.1:9/fraud" in message
    assert "hunter2" not in message


async def test_an_unmigrated_database_says_to_migrate(empty_database_url: str) -> None:
    with pytest.raises(StorageError, match="fraudstream db migrate"):
        async with Repository.connect(database_settings_for(empty_database_url).database):
            pass


@pytest.mark.slow
async def test_postgres_down_then_back(postgres_server: PostgresServer) -> None:
    """The stream's fault in small: writes fail as unavailable, then succeed on the same pool."""
    async with Repository.connect(postgres_server.settings().database) as repository:
        assert await repository.store_verdicts(scored_transactions(50)) == 50
        postgres_server.stop()
        with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1"):
            await repository.store_verdicts(scored_transactions(50, start=50))
        postgres_server.start()
        stored = 0
        for _ in range(3):  # a connection broken by the stop is dropped on its first use
            try:
                stored = await repository.store_verdicts(scored_transactions(50, start=50))
                break
            except DatabaseUnavailable:
                await asyncio.sleep(0.2)
        assert stored == 50
        assert await repository.count_scored() == 100
