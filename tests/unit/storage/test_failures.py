"""Library errors become fraudstream's, classed by what the caller should do, password masked."""

from __future__ import annotations

import asyncpg
import psycopg
import pytest

from fraudstream.errors import DatabaseUnavailable, RowsRefused, StorageError
from fraudstream.storage.failures import storage_error

pytestmark = pytest.mark.unit

URL = "postgresql://app:s3cret-pw@db.example:6543/fraud"


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.InterfaceError("cannot perform operation: connection is closed"),
        psycopg.OperationalError("connection failed"),
        psycopg.errors.TooManyConnections("too many clients"),
    ],
)
def test_unreachable_server_is_unavailable(exc: BaseException) -> None:
    error = storage_error("storing verdicts", URL, exc)
    assert isinstance(error, DatabaseUnavailable)
    assert "postgresql://app:***@db.example:6543/fraud" in str(error)
    assert "fraudstream up" in str(error)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.CheckViolationError("violates check constraint"),
        asyncpg.exceptions.NumericValueOutOfRangeError("value out of range"),
        asyncpg.exceptions._base.DataError("invalid input for query argument $1"),
        OverflowError("int too big to convert"),
        psycopg.errors.NotNullViolation("null value"),
    ],
)
def test_refused_rows_are_not_worth_a_retry(exc: BaseException) -> None:
    error = storage_error("storing verdicts", URL, exc)
    assert isinstance(error, RowsRefused)
    assert "while storing verdicts" in str(error)


def test_missing_tables_say_to_migrate() -> None:
    error = storage_error(
        "connecting", URL, asyncpg.exceptions.UndefinedTableError('"labels" does not exist')
    )
    assert type(error) is StorageError
    assert "fraudstream db migrate" in str(error)


def test_the_password_is_scrubbed_even_when_a_driver_quotes_it() -> None:
    error = storage_error("connecting", URL, OSError("cannot reach app:s3cret-pw@db.example"))
    assert "s3cret-pw" not in str(error)
    assert "app:***@db.example" in str(error)


def test_a_refused_copy_names_its_row_from_the_servers_context() -> None:
    exc = asyncpg.exceptions.CheckViolationError("violates check constraint")
    exc.context = "COPY scored_transactions, line 3"  # as PostgreSQL 18 says it
    error = storage_error("storing verdicts", URL, exc)
    assert isinstance(error, RowsRefused)
    assert error.row == 2  # lines count from 1, rows from 0
    other = storage_error("storing", URL, asyncpg.exceptions.CheckViolationError("violates"))
    assert isinstance(other, RowsRefused)
    assert other.row is None
