"""Migrations on a real PostgreSQL: applied once, in order, atomically, never twice at once."""

from __future__ import annotations

import re
import threading

import psycopg
import pytest

from fraudstream.errors import StorageError
from fraudstream.storage.migrate import (
    Migration,
    apply_migrations,
    available,
    latest_version,
    migration_status,
)

pytestmark = pytest.mark.integration

TABLES = {
    *(name for m in available() for name in re.findall(r"CREATE TABLE (\w+) \(", m.sql)),
    "schema_migrations",
}
"""What the shipped migrations create, and the record of them."""


def _schema(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every column and every index of the public schema: what a migration may change."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " ORDER BY table_name, ordinal_position"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " ORDER BY indexname"
        ).fetchall()
    return columns, indexes


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {str(name) for (name,) in rows}


def test_applies_on_an_empty_database_then_changes_nothing(empty_database_url: str) -> None:
    assert migration_status(empty_database_url).pending == available()
    applied = apply_migrations(empty_database_url)
    assert [m.version for m in applied] == [m.version for m in available()]
    assert _tables(empty_database_url) == TABLES
    assert {"scored_transactions", "labels", "challenger_decisions"} < TABLES
    before = _schema(empty_database_url)

    assert apply_migrations(empty_database_url) == []
    assert _schema(empty_database_url) == before
    status = migration_status(empty_database_url)
    assert status.pending == []
    assert status.current == latest_version()


def test_analyze_skips_only_the_columns_no_query_reads(empty_database_url: str) -> None:
    """ANALYZE of scored_transactions cost a core for half a second under load; migration 0008
    takes the statistics of the columns no query filters, joins, groups or sorts on, and keeps
    those of every column the components' queries and indexes use."""
    apply_migrations(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute(
            "SELECT attname, attstattarget FROM pg_attribute"
            " WHERE attrelid = 'scored_transactions'::regclass AND attnum > 0"
            " AND NOT attisdropped"
        ).fetchall()
    skipped = {str(name) for name, target in rows if target == 0}
    assert skipped == {
        *("first", "last", "gender", "street", "city", "zip", "lat", "long", "city_pop"),
        *("job", "dob", "unix_time", "merch_lat", "merch_long", "merchant", "threshold"),
        "reasons",
    }
    queried = {
        *("trans_num", "trans_date_trans_time", "cc_num", "category", "state", "amt", "score"),
        *("is_fraud_pred", "model_name", "model_version", "produced_at", "scored_at"),
        *("kafka_partition", "kafka_offset"),
    }
    assert queried <= {str(name) for name, _ in rows} - skipped


def test_two_concurrent_runs_apply_each_migration_once(empty_database_url: str) -> None:
    start = threading.Barrier(2)
    results: list[list[Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(apply_migrations(empty_database_url))
        except BaseException as exc:  # reported below, with the other thread's result
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(len(r) for r in results) == [0, len(available())]
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
    assert [v for (v,) in rows] == [m.version for m in available()]


def test_a_failing_migration_leaves_no_trace_and_is_retried(empty_database_url: str) -> None:
    shipped = available()
    broken = Migration("9001", "broken", "CREATE TABLE half_done (x int);\nSELEC 1;")
    with pytest.raises(StorageError, match="applying migration 9001_broken"):
        apply_migrations(empty_database_url, [*shipped, broken])
    assert "half_done" not in _tables(empty_database_url)
    assert migration_status(empty_database_url).current == shipped[-1].version

    fixed = Migration("9001", "broken", "CREATE TABLE half_done (x int);")
    assert apply_migrations(empty_database_url, [*shipped, fixed]) == [fixed]
    assert "half_done" in _tables(empty_database_url)


def test_an_edited_migration_is_refused(empty_database_url: str) -> None:
    apply_migrations(empty_database_url)
    first = available()[0]
    edited = Migration(first.version, first.name, first.sql + "\n-- edited\n")
    with pytest.raises(StorageError, match="changed after it was applied"):
        apply_migrations(empty_database_url, [edited])


def test_an_unreachable_server_is_one_readable_error() -> None:
    url = "postgresql://app:hunter2@127.0.0.1:9/fraud"
    with pytest.raises(StorageError) as caught:
        apply_migrations(url)
    assert "postgresql://app:***@127.0.0.1:9/fraud" in str(caught.value)
    assert "hunter2" not in str(caught.value)
