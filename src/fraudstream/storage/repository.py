"""The async repository: how the services write to PostgreSQL and read what they need back.

One :class:`Repository` per process, over an asyncpg pool::

    async with Repository.connect(settings.database) as repo:
        stored = await repo.store_verdicts(rows)      # idempotent by trans_num

Every write is idempotent, so the stream can replay a batch after a crash without duplicating
anything: verdicts and shadow scores keep the first row per key, labels the one that counts
(and every one received, once, in their audit trail), metrics and dead letters one row per
worker and time or per Kafka message. Verdicts, the bulk of
the traffic, take the fast path: a binary COPY into a session-local stage table, then one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (never one INSERT per row).

Several writes that must land together (verdicts and per-card state, say) share one
transaction through :meth:`Repository.transaction`, which yields a :class:`Writer`.

Errors of asyncpg and of the OS leave as :class:`~fraudstream.errors.StorageError` (see
:mod:`fraudstream.storage.failures`): :class:`~fraudstream.errors.DatabaseUnavailable` when a
retry may succeed, :class:`~fraudstream.errors.RowsRefused` when it cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import orjson

from fraudstream.config import DatabaseSettings, mask_url
from fraudstream.errors import AlreadyStored, DataError, StateConflict, StorageError
from fraudstream.features.card import CardState
from fraudstream.schema import FEED_COLUMNS, LABEL_COLUMN, Transaction, Verdict
from fraudstream.storage import queries
from fraudstream.storage.failures import storage_error
from fraudstream.storage.migrate import latest_version
from fraudstream.storage.models import (
    SCORED_COLUMNS,
    ChallengerDecision,
    DeadLetter,
    DriftReport,
    Label,
    LabelledTransaction,
    ScoredTransaction,
    ShadowScore,
    StoredVerdict,
    StreamMetrics,
)

if TYPE_CHECKING:
    import asyncpg

_SCORED_STAGE: Final = "_scored_stage"
_COLUMNS: Final = ", ".join(SCORED_COLUMNS)

_CREATE_STAGE: Final = (
    f"CREATE TEMP TABLE {_SCORED_STAGE} (LIKE scored_transactions INCLUDING DEFAULTS)"
    " ON COMMIT DELETE ROWS"
)
_INSERT_SCORED: Final = (  # built from constants, never from input
    f"INSERT INTO scored_transactions ({_COLUMNS}) SELECT {_COLUMNS} FROM {_SCORED_STAGE}"  # noqa: S608
    " ON CONFLICT (trans_num) DO NOTHING"
)
_RECORD_LABELS: Final = """
INSERT INTO label_decisions (trans_num, is_fraud, source, author, note, labelled_at)
SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[],
                     $6::timestamptz[])
ON CONFLICT (trans_num, source, labelled_at, (coalesce(author, ''))) DO NOTHING
"""
_UPSERT_LABELS: Final = """
INSERT INTO labels (trans_num, is_fraud, labelled_at, source, author)
SELECT * FROM unnest($1::text[], $2::smallint[], $3::timestamptz[], $4::text[], $5::text[])
ON CONFLICT (trans_num) DO UPDATE
    SET is_fraud = excluded.is_fraud, labelled_at = excluded.labelled_at,
        source = excluded.source, author = excluded.author, stored_at = now()
    WHERE (labels.source = 'chargeback', labels.labelled_at)
        < (excluded.source = 'chargeback', excluded.labelled_at)
"""
_INSERT_SHADOW: Final = """
INSERT INTO shadow_scores (trans_num, model_name, model_version, score, scored_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::timestamptz[])
ON CONFLICT (trans_num, model_version) DO NOTHING
"""
_INSERT_METRICS: Final = """
INSERT INTO stream_metrics (ts, worker, batch_size, throughput, lag, retries, dlq_count,
                            latency_p50_ms, latency_p95_ms, latency_p99_ms, state, state_since,
                            state_reason, isolating, last_failure, last_failure_at)
SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::int[], $4::float8[], $5::bigint[],
                     $6::int[], $7::int[], $8::float8[], $9::float8[], $10::float8[],
                     $11::text[], $12::timestamptz[], $13::text[], $14::int[], $15::text[],
                     $16::timestamptz[])
ON CONFLICT (worker, ts) DO NOTHING
"""
_INSERT_DEAD: Final = """
INSERT INTO dead_letters (failed_at, topic, kafka_partition, kafka_offset, reason, key, payload)
SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::int[], $4::bigint[], $5::text[],
                     $6::bytea[], $7::bytea[])
ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
"""
_INSERT_DECISION: Final = """
INSERT INTO challenger_decisions (
    run_at, model_name, metric, champion_version, challenger_version,
    champion_metric, champion_ci_low, champion_ci_high,
    challenger_metric, challenger_ci_low, challenger_ci_high,
    window_start, window_end, n_rows, n_frauds, action, reason, drift,
    difference, difference_ci_low, difference_ci_high, scoring,
    new_champion_version, new_challenger_version, duration_seconds, daily)
VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
RETURNING id
"""
_INSERT_DRIFT: Final = """
INSERT INTO drift_reports (created_at, window_start, window_end, reference, features, drifted,
                           summary, model_name, model_version, score_psi, max_feature_psi,
                           n_rows, labelled_rows, fraud_rate, reference_fraud_rate)
VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING id
"""
_LABELLED_WINDOW: Final = queries.labelled_window("$1", "$2")
_STORED_VERDICTS: Final = """
SELECT trans_num, cc_num, is_fraud_pred, score, threshold, model_name, model_version, reasons,
       scored_at, kafka_partition, kafka_offset
FROM scored_transactions WHERE trans_num = ANY($1::text[])
"""
_SCORED_SOURCES: Final = """
SELECT trans_num, cc_num, kafka_partition, kafka_offset
FROM scored_transactions WHERE trans_num = ANY($1::text[])
"""
_ROWS_PER_CARD: Final = """
SELECT cc_num, count(*) FROM scored_transactions WHERE cc_num = ANY($1::bigint[]) GROUP BY cc_num
"""
_CARD_STATES: Final = (
    "SELECT cc_num, state, version FROM card_state WHERE cc_num = ANY($1::bigint[])"
)
# A state advances only from the version it was read at: a new card inserts version 1; an
# existing one updates only when the stored version is exactly the new one minus one.
_STORE_CARD_STATES: Final = """
INSERT INTO card_state AS c (cc_num, state, version)
SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[])
ON CONFLICT (cc_num) DO UPDATE
    SET state = excluded.state, version = excluded.version, updated_at = now()
    WHERE c.version = excluded.version - 1
RETURNING cc_num
"""


def session_settings(application: str) -> dict[str, str]:
    """The session of every pooled connection: named in ``pg_stat_activity``, and planned for
    the parameters of each call. asyncpg prepares every statement it runs; after five runs
    PostgreSQL may keep a generic plan chosen from the table's statistics of that moment. A
    stream that starts on a small table then looks its verdicts up by a sequential scan until
    the next ANALYZE (measured: 5 ms per lookup at 10,000 rows, 0.5 ms re-planned; planning
    such a query costs tens of microseconds)."""
    return {"application_name": application, "plan_cache_mode": "force_custom_plan"}


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with: its session as it is. asyncpg's default
    reset (advisory locks, cursors, LISTEN, RESET ALL) is one more round trip per use, for
    session state this repository never changes; an open transaction is still rolled back (asyncpg
    does that before calling this)."""


def _affected(status: str) -> int:
    """Rows touched, from a command tag such as ``INSERT 0 42``."""
    return int(status.rsplit(" ", 1)[-1])


def _json(value: object) -> str | None:
    """jsonb text; numpy numbers (from the statistics code) serialise as plain numbers."""
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _naive(name: str, value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise DataError(f"{name} is a transaction time: pass a naive wall-clock datetime")
    return value


class Writer:
    """The writes, on one connection inside one transaction (see :meth:`Repository.transaction`).

    Each method returns how many rows it stored or changed; a replay returns 0.
    """

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection
        self._stage_used = False

    async def insert_verdicts(self, rows: Sequence[ScoredTransaction]) -> int:
        """Store scored transactions that must all be new, in one COPY; raise
        :class:`AlreadyStored` (and so roll the transaction back) when one is stored already."""
        import asyncpg

        if not rows:
            return 0
        try:
            await self._conn.copy_records_to_table(
                "scored_transactions",
                records=[row.record() for row in rows],
                columns=SCORED_COLUMNS,
            )
        except asyncpg.UniqueViolationError as exc:
            raise AlreadyStored(f"a verdict among {len(rows)} is stored already: {exc}") from exc
        return len(rows)

    async def store_verdicts(self, rows: Sequence[ScoredTransaction]) -> int:
        """Store scored transactions; those whose trans_num is already stored are skipped.

        New rows, the usual case, are copied straight into the table, inside a savepoint. A
        batch that holds a stored trans_num (a replay) fails that copy at once and goes the
        idempotent way: a copy into the stage table, then an insert that skips conflicts.
        """
        if not rows:
            return 0
        try:
            async with self._conn.transaction():
                return await self.insert_verdicts(rows)
        except AlreadyStored:
            pass
        records = [row.record() for row in rows]
        if self._stage_used:  # a second replay in the same transaction: commit has not emptied it
            await self._conn.execute(f"TRUNCATE {_SCORED_STAGE}")
        self._stage_used = True
        await self._conn.copy_records_to_table(
            _SCORED_STAGE, records=records, columns=SCORED_COLUMNS
        )
        return _affected(await self._conn.execute(_INSERT_SCORED))

    async def store_card_states(self, states: Sequence[tuple[int, bytes, int]]) -> None:
        """Advance each card's state to its new version; raise :class:`StateConflict` (and so
        roll the transaction back) when any card was not at ``version - 1``."""
        if not states:
            return
        cards = [card for card, _, _ in states]
        rows = await self._conn.fetch(
            _STORE_CARD_STATES, cards, [s for _, s, _ in states], [v for _, _, v in states]
        )
        if len(rows) != len(states):
            written = {row[0] for row in rows}
            raise StateConflict([card for card in cards if card not in written])

    async def store_labels(self, labels: Iterable[Label]) -> int:
        """Record every label in the audit trail and keep, per transaction, the one that counts
        (:attr:`Label.precedence`); returns how many transactions' labels changed."""
        received = list(labels)
        if not received:
            return 0
        await self._conn.execute(
            _RECORD_LABELS,
            [r.trans_num for r in received],
            [r.is_fraud for r in received],
            [r.source for r in received],
            [r.author for r in received],
            [r.note for r in received],
            [r.labelled_at for r in received],
        )
        counts: dict[str, Label] = {}
        for label in received:
            known = counts.get(label.trans_num)
            if known is None or known.precedence < label.precedence:
                counts[label.trans_num] = label
        rows = list(counts.values())
        status = await self._conn.execute(
            _UPSERT_LABELS,
            [r.trans_num for r in rows],
            [r.is_fraud for r in rows],
            [r.labelled_at for r in rows],
            [r.source for r in rows],
            [r.author for r in rows],
        )
        return _affected(status)

    async def store_shadow_scores(self, scores: Sequence[ShadowScore]) -> int:
        """Store shadow scores; one per transaction and model version, the first one kept."""
        if not scores:
            return 0
        status = await self._conn.execute(
            _INSERT_SHADOW,
            [s.trans_num for s in scores],
            [s.model_name for s in scores],
            [s.model_version for s in scores],
            [s.score for s in scores],
            [s.scored_at for s in scores],
        )
        return _affected(status)

    async def record_stream_metrics(self, samples: Sequence[StreamMetrics]) -> int:
        """Append metrics samples; one per worker and timestamp."""
        if not samples:
            return 0
        status = await self._conn.execute(
            _INSERT_METRICS,
            [m.ts for m in samples],
            [m.worker for m in samples],
            [m.batch_size for m in samples],
            [m.throughput for m in samples],
            [m.lag for m in samples],
            [m.retries for m in samples],
            [m.dlq_count for m in samples],
            [m.latency_p50_ms for m in samples],
            [m.latency_p95_ms for m in samples],
            [m.latency_p99_ms for m in samples],
            [m.state for m in samples],
            [m.state_since for m in samples],
            [m.state_reason for m in samples],
            [m.isolating for m in samples],
            [m.last_failure for m in samples],
            [m.last_failure_at for m in samples],
        )
        return _affected(status)

    async def record_dead_letters(self, letters: Sequence[DeadLetter]) -> int:
        """Mirror dead letters; one row per Kafka message, so a replay adds none."""
        if not letters:
            return 0
        status = await self._conn.execute(
            _INSERT_DEAD,
            [d.failed_at for d in letters],
            [d.topic for d in letters],
            [d.partition for d in letters],
            [d.offset for d in letters],
            [d.reason for d in letters],
            [d.key for d in letters],
            [d.payload for d in letters],
        )
        return _affected(status)

    async def record_decision(self, decision: ChallengerDecision) -> int:
        """Record a champion/challenger run; returns its id."""
        champion, challenger, difference = (
            decision.champion,
            decision.challenger,
            decision.difference,
        )
        row_id: int = await self._conn.fetchval(
            _INSERT_DECISION,
            decision.run_at,
            decision.model_name,
            decision.metric,
            decision.champion_version,
            decision.challenger_version,
            champion.value if champion else None,
            champion.ci_low if champion else None,
            champion.ci_high if champion else None,
            challenger.value if challenger else None,
            challenger.ci_low if challenger else None,
            challenger.ci_high if challenger else None,
            decision.window_start,
            decision.window_end,
            decision.n_rows,
            decision.n_frauds,
            decision.action,
            decision.reason,
            _json(decision.drift),
            difference.value if difference else None,
            difference.ci_low if difference else None,
            difference.ci_high if difference else None,
            decision.scoring,
            decision.new_champion_version,
            decision.new_challenger_version,
            decision.duration_seconds,
            _json(decision.daily.model_dump(mode="json") if decision.daily else None),
        )
        return row_id

    async def record_drift_report(self, report: DriftReport) -> int:
        """Record a drift report; returns its id."""
        row_id: int = await self._conn.fetchval(
            _INSERT_DRIFT,
            report.created_at,
            report.window_start,
            report.window_end,
            report.reference,
            _json(report.features),
            report.drifted,
            report.summary,
            report.model_name,
            report.model_version,
            report.score_psi,
            report.max_feature_psi,
            report.n_rows,
            report.labelled_rows,
            report.fraud_rate,
            report.reference_fraud_rate,
        )
        return row_id


class Repository:
    """The process's connection pool to PostgreSQL, with the reads and writes the services use.

    Build it with :meth:`connect`; it checks that the schema is migrated, so a service that
    starts against an empty database says so at once instead of at its first write.
    """

    def __init__(self, pool: asyncpg.Pool, url: str, timeout: float) -> None:
        self._pool = pool
        self._url = url
        self._timeout = timeout

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, database: DatabaseSettings, *, application: str = "fraudstream"
    ) -> AsyncIterator[Repository]:
        """Open the pool (``database.pool_size`` connections at most) and close it after.

        ``application`` names the connections in ``pg_stat_activity``.
        """
        import asyncpg

        url = database.url.get_secret_value()
        timeout = database.timeout_seconds
        try:
            pool = await asyncpg.create_pool(
                dsn=url,
                min_size=1,
                max_size=database.pool_size,
                timeout=timeout,
                command_timeout=timeout,
                max_inactive_connection_lifetime=300,
                server_settings=session_settings(application),
                init=prepare_connection,
                reset=_keep_session,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise storage_error("connecting", url, exc) from exc
        repo = cls(pool, url, timeout)
        try:
            await repo._check_schema()
            yield repo
        finally:
            await repo._close()

    @contextlib.asynccontextmanager
    async def transaction(self, action: str = "writing") -> AsyncIterator[Writer]:
        """One transaction on one pooled connection: everything in the block commits together."""
        async with (
            self._guard(action),
            self._pool.acquire(timeout=self._timeout) as conn,
            conn.transaction(),
        ):
            yield Writer(conn)

    # -- writes, each in its own transaction --------------------------------------------------

    async def store_verdicts(self, rows: Sequence[ScoredTransaction]) -> int:
        """Store scored transactions idempotently; returns how many were new."""
        async with self.transaction("storing verdicts") as writer:
            return await writer.store_verdicts(rows)

    async def store_labels(self, labels: Iterable[Label]) -> int:
        """Store labels and their history; returns how many transactions' labels changed."""
        async with self.transaction("storing labels") as writer:
            return await writer.store_labels(labels)

    async def store_shadow_scores(self, scores: Sequence[ShadowScore]) -> int:
        """Store shadow scores idempotently; returns how many were new."""
        async with self.transaction("storing shadow scores") as writer:
            return await writer.store_shadow_scores(scores)

    async def record_stream_metrics(self, samples: Sequence[StreamMetrics]) -> int:
        """Append stream metrics; returns how many samples were new."""
        async with self.transaction("recording stream metrics") as writer:
            return await writer.record_stream_metrics(samples)

    async def record_dead_letters(self, letters: Sequence[DeadLetter]) -> int:
        """Mirror dead letters; returns how many were new."""
        async with self.transaction("recording dead letters") as writer:
            return await writer.record_dead_letters(letters)

    async def record_decision(self, decision: ChallengerDecision) -> int:
        """Record a champion/challenger decision; returns its id."""
        async with self.transaction("recording a challenger decision") as writer:
            return await writer.record_decision(decision)

    async def record_drift_report(self, report: DriftReport) -> int:
        """Record a drift report; returns its id."""
        async with self.transaction("recording a drift report") as writer:
            return await writer.record_drift_report(report)

    async def store_scored(
        self,
        rows: Sequence[ScoredTransaction],
        states: Sequence[tuple[int, CardState, int]],
        *,
        only_new: bool = False,
    ) -> int:
        """Verdicts and the card states they advanced, together or not at all (see
        :meth:`Writer.store_card_states`); returns the verdicts newly stored.

        ``only_new``: the rows are expected to be new, and one already stored raises
        :class:`AlreadyStored` with nothing written; two round trips fewer than the idempotent
        write (no savepoint), for a caller that would otherwise have looked them up first.
        """
        encoded = [(card, state.to_bytes(), version) for card, state, version in states]
        async with self.transaction("storing verdicts and card states") as writer:
            await writer.store_card_states(encoded)
            if only_new:
                return await writer.insert_verdicts(rows)
            return await writer.store_verdicts(rows)

    @contextlib.asynccontextmanager
    async def rehearsal(self) -> AsyncIterator[Writer]:
        """A transaction that is always rolled back: does a well-formed write still go through?
        (The stream asks before it blames a message for a write that failed.)"""
        async with (
            self._guard("rehearsing a write"),
            self._pool.acquire(timeout=self._timeout) as conn,
        ):
            transaction = conn.transaction()
            await transaction.start()
            try:
                yield Writer(conn)
            finally:
                await transaction.rollback()

    async def rehearse_scored(
        self, rows: Sequence[ScoredTransaction], states: Sequence[tuple[int, CardState, int]]
    ) -> None:
        """Write as :meth:`store_scored` does, then roll back."""
        encoded = [(card, state.to_bytes(), version) for card, state, version in states]
        async with self.rehearsal() as writer:
            await writer.store_card_states(encoded)
            await writer.store_verdicts(rows)

    # -- reads ---------------------------------------------------------------------------------

    async def stored_verdicts(self, trans_nums: Sequence[str]) -> dict[str, StoredVerdict]:
        """The verdicts already stored for these transactions, with the message each was scored
        from (a message delivered again publishes its verdict again; another one does not)."""
        if not trans_nums:
            return {}
        async with self._guard("looking up stored verdicts"):
            rows = await self._pool.fetch(_STORED_VERDICTS, list(trans_nums))
        return {
            row["trans_num"]: StoredVerdict(
                Verdict(
                    trans_num=row["trans_num"],
                    cc_num=row["cc_num"],
                    is_fraud=row["is_fraud_pred"],
                    score=row["score"],
                    threshold=row["threshold"],
                    model_name=row["model_name"],
                    model_version=row["model_version"],
                    reasons=orjson.loads(row["reasons"]),
                    scored_at=row["scored_at"],
                ),
                None
                if row["kafka_partition"] is None
                else (row["kafka_partition"], row["kafka_offset"]),
            )
            for row in rows
        }

    async def card_states(self, cards: Sequence[int]) -> dict[int, tuple[CardState, int]]:
        """Stored state and version of these cards (absent cards are not in the answer)."""
        if not cards:
            return {}
        async with self._guard("reading card states"):
            rows = await self._pool.fetch(_CARD_STATES, list(cards))
        return {row[0]: (CardState.from_bytes(row[1]), row[2]) for row in rows}

    async def scored_sources(
        self, trans_nums: Sequence[str]
    ) -> dict[str, tuple[int, tuple[int, int] | None]]:
        """For each stored transaction among these: its card, and the Kafka message (partition,
        offset) it was scored from (None for rows stored before positions were kept)."""
        if not trans_nums:
            return {}
        async with self._guard("looking up scored transactions"):
            rows = await self._pool.fetch(_SCORED_SOURCES, list(trans_nums))
        return {r[0]: (r[1], None if r[2] is None else (r[2], r[3])) for r in rows}

    async def card_counts(self, cards: Sequence[int]) -> dict[int, tuple[int, int]]:
        """For each card: the transactions its stored state has counted, and its stored
        verdicts. The two are written in one transaction, so they must be equal; a state that
        counts more has counted a transaction twice."""
        if not cards:
            return {}
        async with self._guard("counting card histories"):
            states = await self._pool.fetch(_CARD_STATES, list(cards))
            rows = await self._pool.fetch(_ROWS_PER_CARD, list(cards))
        stored = {r[0]: r[1] for r in rows}
        counted = {r[0]: CardState.from_bytes(r[1]).count for r in states}
        return {c: (counted.get(c, 0), stored.get(c, 0)) for c in set(counted) | set(stored)}

    async def count_scored(self) -> int:
        """How many transactions are stored (an exact count: a scan on a large table)."""
        async with self._guard("counting scored transactions"):
            count: int = await self._pool.fetchval("SELECT count(*) FROM scored_transactions")
        return count

    async def trans_nums_scored(self, trans_nums: Collection[str]) -> set[str]:
        """Which of these transactions are stored (what a replay or a test checks)."""
        if not trans_nums:
            return set()
        async with self._guard("looking up scored transactions"):
            rows = await self._pool.fetch(
                "SELECT trans_num FROM scored_transactions WHERE trans_num = ANY($1::text[])",
                list(trans_nums),
            )
        return {row[0] for row in rows}

    async def labelled_window(self, since: datetime, until: datetime) -> list[LabelledTransaction]:
        """Stored transactions with a label, by transaction time in ``[since, until)``.

        Times are Sparkov's naive wall-clock times, like the feed's. Ordered by time.
        """
        since, until = _naive("since", since), _naive("until", until)
        async with self._guard("reading labelled transactions"):
            rows = await self._pool.fetch(_LABELLED_WINDOW, since, until)
        return [_labelled(row) for row in rows]

    # -- plumbing ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _guard(self, action: str) -> AsyncIterator[None]:
        import asyncpg

        try:
            yield
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, OverflowError) as exc:
            raise storage_error(action, self._url, exc) from exc

    async def _check_schema(self) -> None:
        async with self._guard("checking the schema version"):
            current = await self._pool.fetchval("SELECT max(version) FROM schema_migrations")
        needed = latest_version()
        if current is None or current < needed:
            raise StorageError(
                f"the database at {self._safe_url} is at schema {current or 'none'} and this "
                f"fraudstream needs {needed}: run `fraudstream db migrate`"
            )

    @property
    def _safe_url(self) -> str:
        return mask_url(self._url)

    async def _close(self) -> None:
        """Close the pool; a server that no longer answers does not hold the caller up."""
        try:
            await asyncio.wait_for(self._pool.close(), self._timeout)
        except (TimeoutError, OSError):
            self._pool.terminate()


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """Give a connection its stage table for the COPY of verdicts (a :class:`Writer` needs it).

    The pool of :meth:`Repository.connect` does it for each connection it opens; call it for a
    connection made any other way.
    """
    await conn.execute(_CREATE_STAGE)


def _labelled(row: Any) -> LabelledTransaction:
    # The values come from rows that passed Transaction validation when they were stored, with
    # their database types matching the model's: construct without validating them again.
    transaction = Transaction.model_construct(
        **{column: row[column] for column in FEED_COLUMNS}, is_fraud=row[LABEL_COLUMN]
    )
    return LabelledTransaction(
        transaction=transaction,
        score=row["score"],
        is_fraud_pred=row["is_fraud_pred"],
        model_name=row["model_name"],
        model_version=row["model_version"],
        scored_at=row["scored_at"],
        labelled_at=row["labelled_at"],
    )
