"""One champion/challenger run at a time per model, across every scheduler that shares the
database (here, with the rest of PostgreSQL, so that no driver exception leaves storage).

A session-level PostgreSQL advisory lock, taken without waiting on a connection of its own and
held for the whole run: a second scheduler's run finds it taken and skips. If the process dies,
its session ends and the server releases the lock, so a crash never leaves it stuck. The same
connection answers "is PostgreSQL still there?" just before the aliases move, so that the job
never moves an alias it could not record.

Two schedulers started together would otherwise act twice in a row (the second runs just after
the first released the lock), so a scheduler also skips when a run was recorded less than half a
period ago (:meth:`RunLock.recent_run`).
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Final

from fraudstream.config import mask_url
from fraudstream.storage.failures import storage_error

if TYPE_CHECKING:
    import psycopg

LOCK_CLASS: Final = 0x63_63  # "cc": the first key of the two-key advisory lock


def lock_key(model_name: str) -> int:
    """The second key: one lock per registered model (a signed 32-bit integer)."""
    return zlib.crc32(f"challenger:{model_name}".encode()) - 2**31


class RunLock:
    """``with RunLock(url, model_name) as lock: if lock.acquired: ...``"""

    def __init__(self, url: str, model_name: str) -> None:
        self.url = url
        self.model_name = model_name
        self.acquired = False
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def __enter__(self) -> RunLock:
        import psycopg

        try:
            self._conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=10,
                application_name="fraudstream-challenger",
            )
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, lock_key(self.model_name))
            ).fetchone()
        except psycopg.Error as exc:
            self._close()
            raise storage_error("taking the challenger lock", self.url, exc) from exc
        self.acquired = bool(row and row[0])
        return self

    def recent_run(self, within: timedelta) -> bool:
        """True when a run of this model was recorded less than ``within`` ago (server time)."""
        row = self._query(
            "SELECT EXISTS (SELECT 1 FROM challenger_decisions WHERE model_name = %s"
            " AND action <> 'failed' AND run_at > now() - %s)",
            (self.model_name, within),
            "looking for a recent run",
        )
        return bool(row and row[0])

    def check_alive(self) -> None:
        """Raise DatabaseUnavailable when the server stopped answering (do not move aliases)."""
        self._query("SELECT 1", (), "checking the database before moving aliases")

    def _query(
        self, sql: str, params: tuple[object, ...], action: str
    ) -> tuple[object, ...] | None:
        import psycopg

        if self._conn is None:
            raise storage_error(action, self.url, ConnectionError("no connection"))
        try:
            return self._conn.execute(sql.encode(), params).fetchone()
        except psycopg.Error as exc:
            raise storage_error(action, self.url, exc) from exc

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # ends the session, which releases the lock
            self._conn = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def __repr__(self) -> str:
        return f"RunLock({mask_url(self.url)}, {self.model_name!r}, acquired={self.acquired})"
