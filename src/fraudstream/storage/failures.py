"""How an error of asyncpg, psycopg or the OS becomes fraudstream's, in one place.

The class tells a caller what to do: :class:`DatabaseUnavailable` (retry later: the stream keeps
its batch and backs off), :class:`RowsRefused` (the rows themselves are wrong: retrying cannot
help), any other :class:`StorageError` (an operator must act; the message says how).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from fraudstream.config import mask_url
from fraudstream.errors import DatabaseUnavailable, RowsRefused, StorageError

# SQLSTATE classes: connection exception, insufficient resources, operator intervention
# (shutdown, restart, "the database system is starting up").
_UNAVAILABLE: Final = frozenset({"08", "53", "57"})
# data exception (value out of range, bad encoding), integrity constraint violation.
_REFUSED: Final = frozenset({"22", "23"})
_UNDEFINED_TABLE: Final = "42P01"
_COPY_LINE: Final = re.compile(r"COPY [^,]+, line (\d+)")

START_HINT: Final = (
    "start the local server with `fraudstream up`, or set FRAUD_DATABASE_URL to a running one"
)


def storage_error(action: str, url: str, exc: BaseException) -> StorageError:
    """The fraudstream error for ``exc``, raised while ``action`` against the server at ``url``.

    The message names the server with its password masked, and the password is scrubbed from the
    driver's own text too, should a driver ever quote it.
    """
    where = mask_url(url)
    text = " ".join(_scrub(str(exc), url).split()) or type(exc).__name__  # one line
    state = getattr(exc, "sqlstate", None)
    state_class = state[:2] if isinstance(state, str) else None
    if state_class in _UNAVAILABLE or (state_class is None and _connection_lost(exc)):
        return DatabaseUnavailable(
            f"PostgreSQL at {where} is unavailable ({action}): {text} — {START_HINT}"
        )
    if state_class in _REFUSED or (state_class is None and _bad_input(exc)):
        return RowsRefused(
            f"PostgreSQL at {where} refused the rows while {action}: {text}", _copy_row(exc)
        )
    if state == _UNDEFINED_TABLE:
        return StorageError(
            f"the database at {where} lacks fraudstream's tables ({text}); "
            f"run `fraudstream db migrate`"
        )
    return StorageError(f"PostgreSQL at {where} failed while {action}: {text}")


def _copy_row(exc: BaseException) -> int | None:
    """The 0-based row a COPY failed on: the server's context says "COPY <table>, line <n>"."""
    found = _COPY_LINE.match(str(getattr(exc, "context", None) or ""))
    return int(found.group(1)) - 1 if found else None


def _connection_lost(exc: BaseException) -> bool:
    import asyncpg
    import psycopg

    if isinstance(exc, OSError | psycopg.OperationalError):
        return True
    # asyncpg's client-side errors: "connection is closed", "pool is closing"...
    return isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError)


def _bad_input(exc: BaseException) -> bool:
    import asyncpg
    import psycopg

    if isinstance(exc, psycopg.DataError | OverflowError):
        return True
    # asyncpg refuses to encode a value (an int beyond bigint, a str for a number) client-side
    return isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError)


def _scrub(text: str, url: str) -> str:
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text
