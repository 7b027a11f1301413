"""The dashboard's one PostgreSQL connection: read-only, shared, re-opened when it breaks.

It lives in storage, the one package that speaks to the drivers, so a driver error leaves as a
:class:`~fraudstream.errors.StorageError`; the dashboard keeps what is its own (the Streamlit
cache of this object, the queries). ``fraudstream status`` reads through it too.

Streamlit runs every browser session's script in a thread of one server process, so one
connection (behind a lock) serves them all; the queries are short aggregates, and a pool would
only multiply connections on the database that the stream writes to. The session itself is
read-only (``default_transaction_read_only``) whatever role the URL names, so a dashboard given
the writer's URL by mistake still cannot change a row; a statement timeout keeps a slow query
from holding the lock.

Times leave as naive UTC values: Streamlit draws them as they are in tables and charts, while
zone-aware columns go through a pandas conversion that is deprecated (and says so, loudly).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from fraudstream.config import mask_url
from fraudstream.errors import StorageError
from fraudstream.storage.failures import storage_error

if TYPE_CHECKING:
    import pandas as pd
    import psycopg

Params = Mapping[str, Any]
_ACTION = "reading for the dashboard"


class Reader(Protocol):
    """What the queries need: one SQL statement in, a frame with its columns out."""

    def frame(self, sql: str, params: Params | None = None) -> pd.DataFrame: ...


class ReadOnlyDatabase:
    """A lazily opened, read-only psycopg connection to ``url``.

    A connection that broke (the server restarted, the network dropped) is re-opened once per
    query, so the dashboard recovers by itself on its next refresh; anything else leaves as a
    :class:`~fraudstream.errors.StorageError` whose message says what to do.
    """

    def __init__(self, url: str, *, timeout_seconds: float = 10.0) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._lock = threading.Lock()

    def frame(self, sql: str, params: Params | None = None) -> pd.DataFrame:
        """Run one query; the frame keeps the query's columns even without rows."""
        import psycopg

        with self._lock:
            try:
                return self._run(sql, params)
            except psycopg.errors.QueryCanceled as exc:
                raise self._too_slow(exc) from exc
            except psycopg.OperationalError:
                self._discard()  # a broken connection: one fresh attempt below
            except psycopg.Error as exc:
                raise storage_error(_ACTION, self.url, exc) from exc
            try:
                return self._run(sql, params)
            except psycopg.errors.QueryCanceled as exc:
                raise self._too_slow(exc) from exc
            except psycopg.Error as exc:
                self._discard()
                raise storage_error(_ACTION, self.url, exc) from exc

    def _run(self, sql: str, params: Params | None) -> pd.DataFrame:
        import pandas as pd

        conn = self._connection()
        with conn.cursor() as cursor:
            cursor.execute(sql.encode(), params)
            columns = [d.name for d in cursor.description or ()]
            rows = cursor.fetchall()
        frame = pd.DataFrame.from_records(rows, columns=columns)
        for name in frame.columns:
            if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
                frame[name] = frame[name].dt.tz_convert("UTC").dt.tz_localize(None)
        return frame

    def _too_slow(self, exc: Exception) -> StorageError:
        return StorageError(
            f"a dashboard query ran past {self.timeout_seconds:g} s on {mask_url(self.url)} and "
            f"was cancelled ({exc}); choose a shorter time window, or raise "
            "FRAUD_DATABASE_TIMEOUT_SECONDS"
        )

    def close(self) -> None:
        with self._lock:
            self._discard()

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        if self._conn is None or self._conn.closed:
            timeout_ms = int(self.timeout_seconds * 1000)
            self._conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, int(self.timeout_seconds)),
                application_name="fraudstream-dashboard",
                options=(
                    "-c default_transaction_read_only=on"
                    f" -c statement_timeout={timeout_ms} -c TimeZone=UTC"
                ),
            )
        return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
