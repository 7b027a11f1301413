"""What the local stack asks of a PostgreSQL server itself: is it up, and does a database exist.

``fraudstream up`` and the test fixtures launch the server (``fraudstream.local.postgres``) but
talk to it only through these functions, so that the drivers stay inside storage and a failure
leaves as a :class:`~fraudstream.errors.StorageError` naming the server, password masked.
"""

from __future__ import annotations

from fraudstream.storage.failures import storage_error


def answers(url: str, *, timeout_seconds: int = 2) -> bool:
    """True when the server accepts ``url``'s login and answers ``SELECT 1`` (a readiness
    probe: any failure is simply "not yet")."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=timeout_seconds) as conn:
            row = conn.execute("SELECT 1").fetchone()
    except psycopg.Error:
        return False
    return row == (1,)


def ensure_database(admin_url: str, name: str, owner: str) -> None:
    """Create the database ``name`` owned by ``owner`` unless it exists (run as a superuser)."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(owner)
                    )
                )
    except psycopg.Error as exc:
        raise storage_error(f"creating the database {name}", admin_url, exc) from exc
