"""The local PostgreSQL launcher: a real server that starts, serves, stops and keeps its data."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from fixtures.postgres import PostgresServer
from fraudstream.config import LOCAL_READER_ROLE, Settings, local_database_url
from fraudstream.local.postgres import admin_url, postgres_spec, probe
from fraudstream.local.process import free_port, running
from fraudstream.storage.migrate import apply_migrations

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _system_identifier(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()
    assert row is not None
    return int(row[0])


def test_starts_ready_with_roles_and_stops(server_folder: Path) -> None:
    port = free_port()
    spec = postgres_spec(Settings(_env_file=None), server_folder / "pg", port)
    assert not probe(port)
    with running(spec) as server:
        assert probe(port)
        with psycopg.connect(admin_url(port)) as conn:
            roles = {
                name: (login, superuser)
                for name, login, superuser in conn.execute(
                    "SELECT rolname, rolcanlogin, rolsuper FROM pg_roles"
                    " WHERE rolname IN ('postgres', 'fraudstream', 'fraudstream_reader')"
                )
            }
            owner = conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'fraudstream'"
            ).fetchone()
        assert roles == {
            "postgres": (True, True),
            "fraudstream": (True, False),
            "fraudstream_reader": (True, False),
        }
        assert owner == ("fraudstream",)
        assert (server_folder / "pg" / "postgres.log").stat().st_size > 0
        pid = server.pid
    assert server.stop() == 0  # already stopped by the block: a clean exit code, no SIGKILL
    assert pid is not None
    assert not probe(port)


def test_reader_role_reads_every_table_and_writes_none(postgres_server: PostgresServer) -> None:
    reader = local_database_url(postgres_server.port, role=LOCAL_READER_ROLE)
    with psycopg.connect(postgres_server.url, autocommit=True) as owner:
        owner.execute("CREATE TABLE created_later (x int)")  # after bootstrap and migrations
        owner.execute("INSERT INTO created_later VALUES (1)")
    with psycopg.connect(reader) as conn:
        assert conn.execute("SELECT count(*) FROM scored_transactions").fetchone() == (0,)
        assert conn.execute("SELECT x FROM created_later").fetchone() == (1,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO created_later VALUES (2)")
        conn.rollback()
        conn.execute("SET TRANSACTION READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO created_later VALUES (3)")


def test_restart_on_the_same_folder_keeps_rows_and_never_reinitialises(
    postgres_server: PostgresServer,
) -> None:
    identifier = _system_identifier(postgres_server.admin_url)
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO labels (trans_num, is_fraud, labelled_at)"
            " SELECT 'k' || n, n % 2, now() FROM generate_series(1, 500) AS n"
        )
    postgres_server.stop()
    assert not postgres_server.alive()
    postgres_server.start()
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("SELECT count(*) FROM labels").fetchone() == (500,)
    assert _system_identifier(postgres_server.admin_url) == identifier
    assert apply_migrations(postgres_server.url) == []


def test_a_crash_recovers_committed_rows(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO labels (trans_num, is_fraud, labelled_at)"
            " SELECT 'c' || n, 1, now() FROM generate_series(1, 200) AS n"
        )
    postgres_server.kill()
    postgres_server.start()
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("SELECT count(*) FROM labels").fetchone() == (200,)


def test_preparing_a_folder_twice_never_reinitialises_it(server_folder: Path) -> None:
    data = server_folder / "pg"
    postgres_spec(Settings(_env_file=None), data, free_port())
    marker = data / "pgdata" / "PG_VERSION"
    made = marker.stat().st_mtime_ns
    postgres_spec(Settings(_env_file=None), data, free_port())
    assert marker.stat().st_mtime_ns == made
    assert not (data / "pgdata.init").exists()
