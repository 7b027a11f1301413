"""The migration files and the rules that decide what to apply."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fraudstream.errors import StorageError
from fraudstream.storage.migrate import Applied, Migration, _pending, available, latest_version

pytestmark = pytest.mark.unit


def _applied(migration: Migration, checksum: str | None = None) -> Applied:
    return Applied(
        migration.version,
        migration.name,
        checksum or migration.checksum,
        datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_shipped_files_are_numbered_from_0001_without_gaps() -> None:
    versions = [m.version for m in available()]
    assert versions[0] == "0001"
    assert versions == [f"{n:04d}" for n in range(1, len(versions) + 1)]
    assert latest_version() == versions[-1]
    assert all(m.sql.strip() for m in available())


def test_the_first_migration_creates_every_table_the_components_use() -> None:
    sql = available()[0].sql
    for table in (
        "scored_transactions",
        "labels",
        "shadow_scores",
        "challenger_decisions",
        "drift_reports",
        "stream_metrics",
        "dead_letters",
    ):
        assert f"CREATE TABLE {table} (" in sql


def test_pending_keeps_order_and_skips_applied() -> None:
    one, two, three = (Migration(f"000{n}", f"m{n}", f"SELECT {n}") for n in (1, 2, 3))
    assert _pending([], [one, two, three]) == [one, two, three]
    assert _pending([_applied(one)], [one, two, three]) == [two, three]
    assert _pending([_applied(one), _applied(two), _applied(three)], [one, two, three]) == []


def test_a_file_changed_after_it_was_applied_is_refused() -> None:
    one = Migration("0001", "initial", "CREATE TABLE a (x int)")
    with pytest.raises(StorageError, match="0001_initial changed after it was applied"):
        _pending([_applied(one, checksum="0" * 64)], [one])


def test_a_database_newer_than_the_code_is_refused() -> None:
    one = Migration("0001", "initial", "SELECT 1")
    future = Applied("0002", "future", "x", datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(StorageError, match="upgrade fraudstream"):
        _pending([_applied(one), future], [one])
