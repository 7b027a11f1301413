"""Schema migrations: plain SQL files applied in order, once each, recorded in the database.

The files are ``migrations/NNNN_name.sql`` in this package. :func:`apply_migrations` takes a
session-level ``pg_advisory_lock`` first, so two processes (``fraudstream up`` and a test, two
workers starting together) never apply at once: the second waits, then finds nothing to do.
Each file runs in its own transaction together with its row in ``schema_migrations``, so a
failing file leaves no trace and the next run retries it. A file that changed after it was
applied is refused: history is never rewritten, a new file is added instead.

Migrations use psycopg (sync) rather than asyncpg: they run once, from the supervisor, the CLI
and sync test fixtures, none of which has an event loop to offer.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Final

from fraudstream.config import DatabaseSettings
from fraudstream.errors import StorageError
from fraudstream.storage.failures import storage_error

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

LOCK_KEY: Final = 0x66_72_61_75_64_73_74
"""The advisory lock that serialises migrations ("fraudst" in ASCII, fits a bigint)."""

_FILE_NAME: Final = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text        PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms double precision NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    """One SQL file of the package."""

    version: str
    name: str
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def __str__(self) -> str:
        return f"{self.version}_{self.name}"


@dataclass(frozen=True)
class Applied:
    """A migration as ``schema_migrations`` recorded it."""

    version: str
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationStatus:
    """Where a database stands against the migrations this code ships."""

    applied: list[Applied]
    pending: list[Migration]

    @property
    def current(self) -> str | None:
        return self.applied[-1].version if self.applied else None


def available() -> list[Migration]:
    """The migrations shipped in the package, in order; a misnamed .sql file is an error."""
    folder = resources.files("fraudstream.storage") / "migrations"
    found: dict[str, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise StorageError(
                f"migration file {entry.name} is misnamed: use NNNN_lowercase_name.sql"
            )
        version, name = match.groups()
        if version in found:
            raise StorageError(f"two migration files share version {version}")
        found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def latest_version() -> str:
    """The version a database must be at for this code to use it."""
    return available()[-1].version


def apply_migrations(url: str, migrations: Sequence[Migration] | None = None) -> list[Migration]:
    """Bring the database at ``url`` up to date; return the migrations applied now (maybe none)."""
    import psycopg

    migrations = available() if migrations is None else list(migrations)
    done: list[Migration] = []
    with _connect(url) as conn:
        step = "waiting for the migration lock"
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            try:
                step = "creating schema_migrations"
                conn.execute(_CREATE_TABLE)
                for migration in _pending(_applied(conn), migrations):
                    step = f"applying migration {migration}"
                    started = time.perf_counter()
                    with conn.transaction():
                        conn.execute(migration.sql.encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, checksum, duration_ms)"
                            " VALUES (%s, %s, %s, %s)",
                            (
                                migration.version,
                                migration.name,
                                migration.checksum,
                                (time.perf_counter() - started) * 1000,
                            ),
                        )
                    done.append(migration)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        except psycopg.Error as exc:
            raise storage_error(step, url, exc) from exc
    return done


def migrate_sync(database: DatabaseSettings) -> list[Migration]:
    """Apply the migrations to ``database.url``; what ``fraudstream up`` runs."""
    return apply_migrations(database.url.get_secret_value())


def migration_status(url: str) -> MigrationStatus:
    """What is applied and what is pending, without changing anything."""
    import psycopg

    migrations = available()
    with _connect(url) as conn:
        try:
            exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
            applied = _applied(conn) if exists and exists[0] else []
        except psycopg.Error as exc:
            raise storage_error("reading schema_migrations", url, exc) from exc
    return MigrationStatus(applied=applied, pending=_pending(applied, migrations))


def _connect(url: str) -> psycopg.Connection[TupleRow]:
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise storage_error("connecting", url, exc) from exc


def _applied(conn: psycopg.Connection[TupleRow]) -> list[Applied]:
    from psycopg.rows import class_row

    with conn.cursor(row_factory=class_row(Applied)) as cursor:
        return cursor.execute(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        ).fetchall()


def _pending(applied: Sequence[Applied], migrations: Sequence[Migration]) -> list[Migration]:
    """The migrations still to run; refuses a database edited behind the files' back."""
    known = {m.version: m for m in migrations}
    for row in applied:
        migration = known.get(row.version)
        if migration is None:
            raise StorageError(
                f"the database has migration {row.version}_{row.name}, which this fraudstream "
                f"does not know: it is older than the schema; upgrade fraudstream"
            )
        if migration.checksum != row.checksum:
            raise StorageError(
                f"migration {migration} changed after it was applied; restore the file and add "
                f"the change as a new migration"
            )
    done = {row.version for row in applied}
    return [m for m in migrations if m.version not in done]
